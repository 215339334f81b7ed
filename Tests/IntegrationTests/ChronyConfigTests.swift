import Foundation
import TestSupport
import PeerHarness
import Testing

extension LiveDevice {
    /// `vmclockd chrony-config --from-page`: a promise that fits the page.
    @Suite struct ChronyConfigFromPage {
        @Test(arguments: [10_000, 200_000])
        func theProposedPromiseIsWithinTwiceWhatThePageJustifies(maxErrorNanoseconds: Int) throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let sim = try SimulatorProcess(page: dir.path("page"), settings: ["time_maxerror_ns=\(maxErrorNanoseconds)"])
            defer { sim.stop() }
            let result = try runVMClockd(["chrony-config", "--from-page", "--device", sim.pagePath])
            #expect(result.status == 0, "\(result.stderr)")
            let line = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("refclock SOCK") })
            let words = line.split(separator: " ")
            let index = try #require(words.firstIndex(of: "precision"))
            let precision = try #require(Double(words[index + 1]))
            // The page's own maximum error is the floor of what it justifies
            // (the read and the page's age only add to it).
            #expect(precision >= Double(maxErrorNanoseconds) * 1e-9 * 1.5, "\(line)")
            #expect(precision <= Double(maxErrorNanoseconds) * 1e-9 * 2, "\(line)")
            #expect(result.stdout.contains("--max-error \(words[index + 1])"), "\(result.stdout)")
        }

        @Test func aPageWithoutABoundProposesNothing() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let sim = try SimulatorProcess(page: dir.path("page"), settings: ["counter_id=invalid"])
            defer { sim.stop() }
            let result = try runVMClockd(["chrony-config", "--from-page", "--device", sim.pagePath])
            #expect(result.status != 0)
            #expect(result.stderr.contains("no usable clock data"), "\(result.stderr)")
        }
    }
}

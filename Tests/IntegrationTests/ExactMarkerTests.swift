import Foundation
import TestSupport
import PeerHarness
import Testing

extension LiveDevice {
    /// A script that watches for migrations reads the published marker with
    /// jq (Debian 12's 1.6) and compares it with the last one it saw. jq
    /// reads JSON numbers as doubles: two markers above 2^53 that differ by
    /// one would read the same, and the migration would be missed. QEMU's
    /// markers are random 64-bit values, so most are that large.
    @Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/jq"), "needs jq (.ci/deps installs it)"))
    struct ExactMarkers {
        static let markers: [UInt64] = [18_446_744_073_709_551_000, 18_446_744_073_709_551_001]

        @Test func jqReadsEachMarkerExactlyFromTheStatusFileAndStatusJSON() throws {
            let rig = try Rig(page: [], chronyd: .none, relay: true, interval: 0.0625)
            defer { rig.stop() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 20) != nil, "\(rig.report)")
            for marker in Self.markers {
                _ = try rig.simulator.send("marker \(marker)")
                let published = try eventually(within: 20, every: 0.1) {
                    try jq(".disruption_marker", rig.daemon.statusFilePath) == String(marker)
                }
                let read = try jq(".disruption_marker", rig.daemon.statusFilePath)
                #expect(published, "status.json's marker read by jq: \(read) for \(marker)")
                #expect(try jq(".disruptions.last.marker", rig.daemon.statusFilePath) == String(marker))
                let shown = try runVMClockd(["status", "--json", "--device", rig.simulator.pagePath, "--status-file", rig.daemon.statusFilePath])
                let document = rig.dir.path("status-\(marker).json")
                try shown.stdout.write(toFile: document, atomically: true, encoding: .utf8)
                #expect(try jq(".page.disruption_marker", document) == String(marker), "\(shown.stdout)")
                #expect(try jq(".daemon.state.disruption_marker", document) == String(marker))
            }
            // And they are two disruptions, not one.
            #expect(try jq(".disruptions.by_kind.migration", rig.daemon.statusFilePath) == "2")
        }
    }
}

/// `jq -r FILTER FILE`'s output, without the newline.
private func jq(_ filter: String, _ file: String) throws -> String {
    let run = try runProgram(["/usr/bin/jq", "-r", filter, file])
    return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

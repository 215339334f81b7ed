import Foundation
import TestSupport
import PeerHarness
import Testing

extension LiveDevice {
    /// vmclockd under a (test) service manager: the sd_notify sequence on a
    /// NOTIFY_SOCKET of the test's own. (The packaged files: PackagingFamily.)
    @Suite struct Service {
        @Test func notifiesReadyStatusWatchdogAndStopping() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let sim = try SimulatorProcess(page: dir.path("page"))
            defer { sim.stop() }
            let notify = try NotifyListener(path: dir.path("notify"))

            let process = Process()
            process.executableURL = Products.vmclockd
            process.arguments = [
                "run", "--device", sim.pagePath, "--refclock-socket", dir.path("refclock.sock"),
                "--control-socket", dir.path("chronyd.sock"), "--settle-time", "0",
            ]
            var environment = ProcessInfo.processInfo.environment
            environment["NOTIFY_SOCKET"] = notify.path
            environment["WATCHDOG_USEC"] = "200000"
            environment.removeValue(forKey: "WATCHDOG_PID")
            process.environment = environment
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

            // Until tracking: READY=1 comes once the device is open and judged.
            let untilTracking = try notify.collect(within: 10) { $0.contains { $0.hasPrefix("STATUS=tracking") } }
            // A look before the first verdict truthfully says "starting" (seen
            // under emulation, where the first look can come before the device
            // is judged); READY=1 waits for the verdict.
            let ready = try #require(untilTracking.firstIndex { $0.message == "READY=1" })
            let firstVerdict = try #require(
                untilTracking.firstIndex { $0.message.hasPrefix("STATUS=") && !$0.message.hasPrefix("STATUS=starting") })
            #expect(untilTracking[firstVerdict].message.hasPrefix("STATUS=holding/calibrating"))
            #expect(ready <= firstVerdict + 1)
            #expect(untilTracking[..<ready].allSatisfy { !$0.message.hasPrefix("STATUS=") || $0.message.hasPrefix("STATUS=starting") })
            #expect(untilTracking.filter { $0.message == "READY=1" }.count == 1)

            // The watchdog at half of WATCHDOG_USEC (100 ms), while the loop runs.
            let pings = try notify.collect(within: 3) { $0.filter { $0.message == "WATCHDOG=1" }.count >= 12 }
                .filter { $0.message == "WATCHDOG=1" }.map(\.received)
            let gaps = zip(pings.dropFirst(), pings).map { $0.0.timeIntervalSince($0.1) }.sorted()
            let median = gaps[gaps.count / 2]
            #expect(median > 0.09 && median < 0.13, "median watchdog gap \(median) s")

            // SIGHUP: RELOADING=1, then READY=1 again once the device is reopened and judged.
            kill(process.processIdentifier, SIGHUP)
            let reload = try notify.collect(within: 2) { $0.contains { $0.message == "READY=1" } }.map(\.message)
            let reloading = try #require(reload.firstIndex(of: "RELOADING=1"))
            let readyAgain = try #require(reload.firstIndex(of: "READY=1"))
            #expect(reloading < readyAgain)

            kill(process.processIdentifier, SIGTERM)
            let last = try notify.collect(within: 2) { $0.contains { $0.message == "STOPPING=1" } }
            #expect(last.contains { $0.message == "STOPPING=1" })
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
    }
}

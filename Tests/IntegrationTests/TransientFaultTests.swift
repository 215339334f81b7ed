import Foundation
import TestSupport
import PeerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension LiveDevice {
    /// Transient errors are not disruptions. The real daemon reads the
    /// simulator's page; `Sources/Harness/CFaultInjection`, built by SwiftPM
    /// (the `vmclockd-fault-injection` product) and preloaded into it, fails its
    /// open() or pread() of the page on command (EMFILE, EIO, the driver's
    /// ETIMEDOUT): faults a real kernel will not give on demand. A device
    /// that really goes away (the simulator unlinks the page) must still be
    /// one. What is asserted is what an operator reads in the log: the hold
    /// and its reason, the resumption, and no disruption line.
    @Suite
    struct TransientFaults {
        static let disruption = "disruption: "

        /// A daemon reading a simulated page through the preloaded faults.
        struct Rig {
            let dir: TemporaryDirectory
            let sim: SimulatorProcess
            let daemon: DaemonProcess
            let faults: FaultInjection

            init(refuseMapping: Bool) throws {
                dir = try TemporaryDirectory()
                sim = try SimulatorProcess(page: dir.path("page"))
                faults = try FaultInjection(controlPath: dir.path("fault-control"), refuseMapping: refuseMapping)
                let run = [Products.vmclockd.path, "run", "--device", sim.pagePath,
                           "--refclock-socket", dir.path("chrony/vmclock.sock"),
                           "--control-socket", dir.path("chrony/chronyd.sock"),
                           "--state-file", dir.path("page-identity"), "--interval", "0.25"]
                daemon = try DaemonProcess(arguments: faults.environment(faulting: sim.pagePath) + run, logPath: dir.path("daemon.log"))
            }

            func stop() {
                _ = daemon.stop()
                sim.stop()
                faults.close()
                dir.remove()
            }

            var report: String { daemon.logLines().suffix(30).joined(separator: "\n") }
        }

        @Test func failingReadsHoldWithTheirReasonAndBackOffWithoutADisruption() throws {
            let rig = try Rig(refuseMapping: true)
            defer { rig.stop() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            try #require(rig.faults.control.readCalls > 0, "the daemon does not read through pread(): the fault cannot reach it")

            rig.faults.set(readErrno: EIO)
            let hold = rig.daemon.waitForLog(containing: "→ holding/failing: device read failing", within: 10)
            try #require(hold != nil, "\(rig.report)")
            #expect(hold?.contains("Input/output error") == true, "the reason names the error: \(hold ?? "")")
            #expect(hold?.contains("not a disruption") == true, "\(hold ?? "")")
            // Failing for a while: the daemon keeps trying, less and less often.
            let failingFrom = rig.faults.control.readFailures
            let window = ContinuousClock.now
            try #require(eventually(within: 20) { rig.faults.control.readFailures >= failingFrom + 5 }, "\(rig.faults.control)")
            let seconds = Double((ContinuousClock.now - window).components.seconds) + 1
            let attempts = rig.faults.control.readFailures - failingFrom
            // Backoff 0.1, 0.2, 0.4, 0.8, 1.6, then every 2 s: at most 5 + seconds/2
            // attempts in the window, where a look every 0.25 s would make 4 a second.
            // An upper bound: a loaded machine only makes fewer.
            #expect(Double(attempts) <= 5 + seconds / 2 + 1, "\(attempts) failed reads in \(seconds) s: no backoff")

            rig.faults.set(readErrno: 0)
            try #require(rig.daemon.waitForLog(containing: "→ tracking", occurrence: 2, within: 15) != nil, "\(rig.report)")
            #expect(rig.daemon.lines(containing: Self.disruption).isEmpty, "a failing read became a disruption:\n\(rig.report)")
            #expect(rig.daemon.lines(containing: "reset sources").isEmpty, "\(rig.report)")
        }

        @Test func theDriversReadTimeoutIsABusyPageNotAFailingDevice() throws {
            let rig = try Rig(refuseMapping: true)
            defer { rig.stop() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            rig.faults.set(readErrno: ETIMEDOUT)
            let hold = rig.daemon.waitForLog(containing: "→ holding/busy", within: 10)
            try #require(hold != nil, "\(rig.report)")
            #expect(hold?.contains("page busy") == true, "ETIMEDOUT is the driver's seqlock timeout: \(hold ?? "")")
            rig.faults.set(readErrno: 0)
            try #require(rig.daemon.waitForLog(containing: "→ tracking", occurrence: 2, within: 15) != nil, "\(rig.report)")
            #expect(rig.daemon.lines(containing: Self.disruption).isEmpty, "\(rig.report)")
            #expect(rig.daemon.lines(containing: "device read failing").isEmpty, "\(rig.report)")
        }

        @Test func aFailingOpenIsAHoldAndTheDeviceComesBackWithoutADisruption() throws {
            let rig = try Rig(refuseMapping: false)
            defer { rig.stop() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            rig.faults.set(openErrno: EMFILE)
            rig.daemon.send(signal: SIGHUP)   // the daemon reopens the device: the open fails
            let hold = rig.daemon.waitForLog(containing: "→ holding/failing: device read failing", within: 10)
            try #require(hold != nil, "\(rig.report)")
            #expect(hold?.contains("Too many open files") == true, "\(hold ?? "")")
            rig.faults.set(openErrno: 0)
            try #require(rig.daemon.waitForLog(containing: "→ tracking", occurrence: 2, within: 15) != nil, "\(rig.report)")
            #expect(rig.daemon.lines(containing: Self.disruption).isEmpty, "an EMFILE became a disruption:\n\(rig.report)")
        }

        @Test func aDeviceThatReallyGoesAwayIsStillADisruption() throws {
            let rig = try Rig(refuseMapping: false)
            defer { rig.stop() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            try rig.sim.send("remove")
            let gone = rig.daemon.waitForLog(containing: Self.disruption, within: 10)
            try #require(gone != nil, "\(rig.report)")
            #expect(rig.daemon.waitForLog(containing: "→ holding/device: device unavailable", within: 10) != nil, "\(rig.report)")
            #expect(rig.daemon.lines(containing: "device read failing").isEmpty, "\(rig.report)")
        }
    }
}

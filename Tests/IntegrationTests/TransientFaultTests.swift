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

        /// The one rig, its daemon reading the page through the preloaded faults.
        static func rig(refuseMapping: Bool) throws -> (Rig, FaultInjection) {
            let faults = try FaultInjection(refuseMapping: refuseMapping)
            do {
                let rig = try Rig(chronyd: .none, relay: false, interval: 0.25,
                                  daemonPrefix: { try faults.environment(faulting: $0) })
                return (rig, faults)
            } catch {
                faults.close()
                throw error
            }
        }

        @Test func failingReadsHoldWithTheirReasonAndBackOffWithoutADisruption() throws {
            let (rig, faults) = try Self.rig(refuseMapping: true)
            defer { rig.stop(); faults.close() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            try #require(faults.control.readCalls > 0, "the daemon does not read through pread(): the fault cannot reach it")

            faults.set(readErrno: EIO)
            let hold = rig.daemon.waitForLog(containing: "→ holding/failing: device read failing", within: 10)
            try #require(hold != nil, "\(rig.report)")
            #expect(hold?.contains("Input/output error") == true, "the reason names the error: \(hold ?? "")")
            #expect(hold?.contains("not a disruption") == true, "\(hold ?? "")")
            // Failing for a while: the daemon keeps trying, less and less often.
            let failingFrom = faults.control.readFailures
            let window = ContinuousClock.now
            try #require(eventually(within: 20) { faults.control.readFailures >= failingFrom + 5 }, "\(faults.control)")
            let seconds = Double((ContinuousClock.now - window).components.seconds) + 1
            let attempts = faults.control.readFailures - failingFrom
            // Backoff 0.1, 0.2, 0.4, 0.8, 1.6, then every 2 s: at most 5 + seconds/2
            // attempts in the window, where a look every 0.25 s would make 4 a second.
            // An upper bound: a loaded machine only makes fewer.
            #expect(Double(attempts) <= 5 + seconds / 2 + 1, "\(attempts) failed reads in \(seconds) s: no backoff")

            faults.set(readErrno: 0)
            try #require(rig.daemon.waitForLog(containing: "→ tracking", occurrence: 2, within: 15) != nil, "\(rig.report)")
            #expect(rig.daemon.lines(containing: Self.disruption).isEmpty, "a failing read became a disruption:\n\(rig.report)")
            #expect(rig.daemon.lines(containing: "reset sources").isEmpty, "\(rig.report)")
        }

        @Test func theDriversReadTimeoutIsABusyPageNotAFailingDevice() throws {
            let (rig, faults) = try Self.rig(refuseMapping: true)
            defer { rig.stop(); faults.close() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            faults.set(readErrno: ETIMEDOUT)
            let hold = rig.daemon.waitForLog(containing: "→ holding/busy", within: 10)
            try #require(hold != nil, "\(rig.report)")
            #expect(hold?.contains("page busy") == true, "ETIMEDOUT is the driver's seqlock timeout: \(hold ?? "")")
            faults.set(readErrno: 0)
            try #require(rig.daemon.waitForLog(containing: "→ tracking", occurrence: 2, within: 15) != nil, "\(rig.report)")
            #expect(rig.daemon.lines(containing: Self.disruption).isEmpty, "\(rig.report)")
            #expect(rig.daemon.lines(containing: "device read failing").isEmpty, "\(rig.report)")
        }

        @Test func aFailingOpenIsAHoldAndTheDeviceComesBackWithoutADisruption() throws {
            let (rig, faults) = try Self.rig(refuseMapping: false)
            defer { rig.stop(); faults.close() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            faults.set(openErrno: EMFILE)
            rig.daemon.send(signal: SIGHUP)   // the daemon reopens the device: the open fails
            let hold = rig.daemon.waitForLog(containing: "→ holding/failing: device read failing", within: 10)
            try #require(hold != nil, "\(rig.report)")
            #expect(hold?.contains("Too many open files") == true, "\(hold ?? "")")
            faults.set(openErrno: 0)
            try #require(rig.daemon.waitForLog(containing: "→ tracking", occurrence: 2, within: 15) != nil, "\(rig.report)")
            #expect(rig.daemon.lines(containing: Self.disruption).isEmpty, "an EMFILE became a disruption:\n\(rig.report)")
        }

        @Test func aDeviceThatReallyGoesAwayIsStillADisruption() throws {
            let (rig, faults) = try Self.rig(refuseMapping: false)
            defer { rig.stop(); faults.close() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            try rig.simulator.send("remove")
            let gone = rig.daemon.waitForLog(containing: Self.disruption, within: 10)
            try #require(gone != nil, "\(rig.report)")
            #expect(rig.daemon.waitForLog(containing: "→ holding/device: device unavailable", within: 10) != nil, "\(rig.report)")
            #expect(rig.daemon.lines(containing: "device read failing").isEmpty, "\(rig.report)")
        }
    }
}

import ChronyClients
import ChronyProtocol
import Foundation
import TestSupport
import PeerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension LiveDevice {
    /// What chronyd does, not only what the daemon sends: a hold makes
    /// chronyd stop selecting VMCK, a disruption is matched by exactly one
    /// acknowledged reset even across chronyd being down, and a disruption
    /// while the daemon was not running is still passed on. At the defaults
    /// (`--interval 0.0625`, the `poll -2` refclock line `chrony-config`
    /// prints). Assertions are on order and presence; the figures are in
    /// the daemon benchmark.
    @Suite(.enabled(if: ChronyProcess.isAvailable, "needs root and /usr/sbin/chronyd"))
    struct ChronydOutcome {
        static let interval = 0.0625

        /// chronyd's `*`: VMCK is the source it steers by.
        static func selected(_ chronyd: ChronyProcess) -> Bool { chronyd.sources()?.state == "*" }

        // MARK: holds

        /// Every hold that is not a disruption goes through the same path
        /// (state → the director's selectopts); a status flip is the one a
        /// host makes most. 4.6 gets +noselect; 4.3 lets go when its reach
        /// register empties (8 polls of 0.25 s).
        @Test(arguments: ChronyFlavor.allCases.filter { ChronyProcess.isAvailable($0) })
        func aHoldMakesChronydStopSelectingVMCKAndTheResumeLetsItSelectAgain(_ flavor: ChronyFlavor) throws {
            let rig = try Rig(page: ["offset_ns=3200000"], chronyd: .selectable, relay: false, interval: Self.interval, flavor: flavor)
            defer { rig.stop() }
            let chronyd = try #require(rig.chronyd)
            let daemon = rig.daemon
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            try #require(eventually(within: 20) { Self.selected(chronyd) }, "VMCK never selected\n\(chronyd.log)\n\(rig.report)")

            // The daemon already told chronyd not to select VMCK while it
            // calibrated at start, and to select it once samples flowed: only
            // lines after those are this hold's.
            let toldBefore = daemon.lines(containing: "chronyd told not to select VMCK").count
            let reselectedBefore = daemon.lines(containing: "chronyd reselected its sources").count
            let held = try publishedNanoseconds(rig.simulator.send("set clock_status=unreliable"))
            try #require(daemon.waitForLog(containing: "→ holding/status", within: 2) != nil, "\(rig.report)")
            // chrony 4.4+ gets +noselect; 4.3 answered "invalid command" at
            // start (said once) and the daemon says what remains: chronyd lets
            // go when reach empties.
            if flavor == .debian12 {
                #expect(daemon.lines(containing: "chronyd does not know selectopts").count == 1, "\(rig.report)")
            } else {
                try #require(daemon.waitForLog(containing: "chronyd told not to select VMCK", occurrence: toldBefore + 1, within: 2) != nil,
                             "\(rig.report)")
                // chronyd answers `reselect` once it has selected again: VMCK is out from then on.
                try #require(daemon.waitForLog(containing: "chronyd reselected its sources", occurrence: reselectedBefore + 1, within: 2) != nil,
                             "\(rig.report)")
                #expect(!Self.selected(chronyd), "\(chronyd.sources().map { "\($0)" } ?? "no sources")")
            }
            let released = eventually(within: 10) { !Self.selected(chronyd) }
            #expect(released, "chronyd still selects VMCK during the hold\n\(rig.report)")
            measured("\(flavor): hold → chronyd no longer selecting VMCK after \(Double(realtimeNanoseconds() - held) * 1e-9) s (or less)")

            try rig.simulator.send("set clock_status=synchronized")
            try #require(daemon.waitForLog(containing: "→ tracking", occurrence: 2, within: 5) != nil, "\(rig.report)")
            #expect(eventually(within: 20) { Self.selected(chronyd) }, "VMCK not selected again after the resume\n\(rig.report)")
        }

        // MARK: a reset that is certain

        @Test func aDisruptionWhileChronydIsDownIsResetOnceWhenItReturnsAndNothingLeavesBefore() throws {
            let rig = try Rig(page: ["offset_ns=3200000"], chronyd: .noselect, relay: true, interval: Self.interval)
            defer { rig.stop() }
            let chronyd = try #require(rig.chronyd)
            let relay = try #require(rig.relay)
            let daemon = rig.daemon
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")

            chronyd.stop()
            let published = try publishedNanoseconds(rig.simulator.send("disrupt step_ns=1000000"))
            try #require(daemon.waitForLog(containing: "disruption: disruption_marker changed", within: 2) != nil, "\(rig.report)")
            // The first failure is logged at once, and the daemon holds for it.
            try #require(daemon.waitForLog(containing: "has not acknowledged 'reset sources' for disruption 1", within: 5) != nil, "\(rig.report)")
            try #require(daemon.waitForLog(containing: "→ holding/reset-pending", within: 5) != nil, "\(rig.report)")
            usleep(1_000_000)  // an observation window: nothing may leave while the reset is owed
            #expect(relay.samples.filter { $0.tvNanoseconds > published }.isEmpty, "sent into unreset history")

            try chronyd.start()
            let ack = try #require(daemon.waitForLog(containing: "chronyd acknowledged 'reset sources' for disruption 1", within: 10), "\(rig.report)")
            let acknowledged = try #require(logStamp(ack))
            try #require(daemon.waitForLog(containing: "→ tracking", occurrence: 2, within: 5) != nil, "\(rig.report)")
            try #require(eventually(within: 5) { relay.samples.contains { $0.tvNanoseconds > published } }, "\(rig.report)")
            for datagram in relay.datagrams where (datagram.sample?.tvNanoseconds ?? 0) > published {
                #expect(datagram.receivedNanoseconds >= acknowledged, "a new-host sample left before chronyd's reset")
            }
            #expect(daemon.lines(containing: "disruption:").count == 1)
            #expect(daemon.lines(containing: "chronyd acknowledged 'reset sources'").count == 1, "\(daemon.log)")
        }

        // MARK: disruptions while the daemon was away

        @Test func aDisruptionWhileTheDaemonWasStoppedIsPassedOnAndAPlainRestartIsNot() throws {
            let rig = try Rig(page: ["offset_ns=3200000"], chronyd: .noselect, relay: false, interval: Self.interval)
            defer { rig.stop() }
            let daemon = rig.daemon
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            daemon.stop()

            // A plain restart: the same page, no disruption, no reset.
            let again = try DaemonProcess(arguments: daemon.arguments, logPath: rig.dir.path("second.log"))
            defer { again.stop() }
            try #require(again.waitForLog(containing: "→ tracking", within: 10) != nil, "\(again.log)")
            #expect(again.lines(containing: "disruption:").isEmpty, "\(again.log)")
            #expect(again.lines(containing: "disruption while").isEmpty, "\(again.log)")
            #expect(again.lines(containing: "reset sources").isEmpty, "\(again.log)")
            again.stop()

            // The host migrates while no daemon runs.
            try rig.simulator.send("disrupt step_ns=1000000")
            let third = try DaemonProcess(arguments: daemon.arguments, logPath: rig.dir.path("third.log"))
            defer { third.stop() }
            let line = third.waitForLog(containing: "disruption while vmclockd was not running", within: 10)
            #expect(line != nil, "\(third.log)")
            #expect(third.waitForLog(containing: "chronyd acknowledged 'reset sources' for disruption 1", within: 10) != nil, "\(third.log)")
            #expect(third.waitForLog(containing: "→ tracking", within: 10) != nil, "\(third.log)")
            #expect(third.lines(containing: "disruption while").count == 1, "\(third.log)")
            #expect(third.lines(containing: "chronyd acknowledged 'reset sources'").count == 1, "\(third.log)")
        }

        /// With no identity left by an earlier run (a purge and reinstall,
        /// `systemctl clean`, `--state-file none`), a migration while the
        /// daemon was stopped cannot be told from none: a chronyd that steers
        /// by what it learned is reset once; a fresh one, which steers by
        /// nothing yet, is not.
        @Test func withNoStoredIdentityASynchronisedChronydIsResetOnceAndAFreshOneIsNot() throws {
            let rig = try Rig(page: ["offset_ns=3200000"], chronyd: .selectable, relay: false, interval: Self.interval)
            defer { rig.stop() }
            let chronyd = try #require(rig.chronyd)
            let daemon = rig.daemon
            // The first start: chronyd has just started and is not synchronised.
            try #require(daemon.waitForLog(containing: "chronyd is not synchronised", within: 10) != nil, "\(rig.report)")
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            try #require(eventually(within: 20) { Self.selected(chronyd) }, "VMCK never selected\n\(rig.report)")
            #expect(daemon.lines(containing: "reset sources").isEmpty, "\(daemon.log)")
            daemon.stop()

            // The identity is gone, and the host migrates while no daemon runs.
            try FileManager.default.removeItem(atPath: rig.dir.path("page-identity"))
            try rig.simulator.send("disrupt step_ns=1000000")
            let again = try DaemonProcess(arguments: daemon.arguments, logPath: rig.dir.path("second.log"))
            defer { again.stop() }
            let line = again.waitForLog(containing: "no page identity from an earlier run", within: 10)
            #expect(line?.contains("chronyd is synchronised") == true, "\(again.log)")
            #expect(again.waitForLog(containing: "chronyd acknowledged 'reset sources' for disruption 1", within: 10) != nil, "\(again.log)")
            #expect(again.waitForLog(containing: "→ tracking", within: 10) != nil, "\(again.log)")
            let view = try #require(published(rig) { $0.state?.disruptionsByKind["unverified-start"] == 1 && $0.state?.reset?.acknowledged == true },
                                    "\(again.log)")
            #expect(view.state?.disruptionsTotal == 1)
            #expect(again.lines(containing: "chronyd acknowledged 'reset sources'").count == 1, "\(again.log)")
        }
    }
}

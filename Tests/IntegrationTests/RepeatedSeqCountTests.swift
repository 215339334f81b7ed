import Foundation
import TestSupport
import PeerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension LiveDevice {
    /// A host that builds a fresh page on a migration's destination may
    /// publish it at a seq_count the guest already saw (a page written once
    /// on each host sits at the same count on both). The new marker alone
    /// must then be seen: a disruption, chronyd reset, and no sample from
    /// the old host's anchor and period.
    @Suite(.enabled(if: ChronyProcess.isAvailable, "needs root and /usr/sbin/chronyd"))
    struct RepeatedSeqCount {
        /// The old host's page runs 3.2 ms ahead; the new host's 4.2 ms.
        static let offset = 0.0032
        static let step = 0.001

        @Test func aNewMarkerAtTheSameSeqCountIsADisruption() throws {
            // Updated only on command, so seq_count moves only when the test says.
            let rig = try Rig(
                page: ["offset_ns=3200000", "update_interval_ms=3600000"], chronyd: .noselect, relay: true,
                options: ["--settle-time", "0.5"])
            defer { rig.stop() }
            let chronyd = try #require(rig.chronyd)
            let relay = try #require(rig.relay)
            let daemon = rig.daemon
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            try #require(eventually(within: 15) { (chronyd.sourceStats()?.samples ?? 0) >= 3 }, "\(rig.report)")

            // The old host's last page, and samples the daemon took from it.
            let old = try rig.simulator.send("sync")
            let oldPublished = try publishedNanoseconds(old)
            try #require(eventually(within: 5) { relay.samples.contains { $0.tvNanoseconds > oldPublished } }, "\(rig.report)")

            // The migration: the guest is paused (so it cannot see the page
            // mid-write, as it cannot during a real one) while the new host
            // writes its page, new marker and clock, at the same seq_count.
            let pid = try #require(daemon.pid)
            kill(pid, SIGSTOP)
            try #require(eventually(within: 5, every: 0.001) { processState(pid) == "T" })
            try rig.simulator.send("set keep_seq=true")
            let fresh = try rig.simulator.send("disrupt step_ns=1000000")
            kill(pid, SIGCONT)
            #expect(fresh["seq"] == old["seq"], "the new page repeats the count: \(old) → \(fresh)")
            let marker = try #require(fresh["marker"])
            #expect(marker != old["marker"])
            let freshPublished = try publishedNanoseconds(fresh)

            let disruption = daemon.waitForLog(containing: "disruption: disruption_marker changed", within: 5)
            try #require(disruption != nil, "\(rig.report)")
            #expect(disruption!.contains("→ \(marker),"), "\(disruption!)")
            try #require(daemon.waitForLog(containing: "chronyd acknowledged 'reset sources'", within: 5) != nil, "\(rig.report)")
            try #require(daemon.waitForLog(containing: "→ tracking", occurrence: 2, within: 5) != nil, "\(rig.report)")
            try #require(
                eventually(within: 5) { relay.samples.filter { $0.tvNanoseconds > freshPublished }.count >= 4 }, "\(rig.report)")

            // Every sample measured after the new page went up (see
            // DaemonRun's disruption test for why tv > published_ns is the
            // criterion) carries the new host's offset. Half the step tells
            // the two apart whatever the anchors' age.
            for sample in relay.samples where sample.tvNanoseconds > freshPublished {
                #expect(abs(sample.offset - (Self.offset + Self.step)) < Self.step / 2, "measured after the change: \(sample)")
            }
            // Exactly one disruption, its reset acknowledged by chronyd: as published, and as logged.
            let view = try #require(published(rig) { $0.state?.reset?.acknowledged == true }, "\(rig.report)")
            #expect(view.state?.disruptionsTotal == 1)
            #expect(view.state?.disruptionMarker.map(String.init) == marker)
            #expect(daemon.lines(containing: "disruption:").count == 1, "\(daemon.log)")
            #expect(daemon.lines(containing: "chronyd acknowledged 'reset sources'").count == 1, "\(daemon.log)")
        }
    }
}

/// The state letter of /proc/PID/stat ("T" once stopped).
func processState(_ pid: pid_t) -> String? {
    guard let stat = readFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
    return stat[stat.index(after: close)...].split(separator: " ").first.map(String.init)
}

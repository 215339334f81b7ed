import Foundation
import TestSupport
import PeerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension LiveDevice {
    /// What the running daemon publishes (`vmclockd status`, the metrics
    /// file), field by field against what it did in a run with a real
    /// chronyd: tracking, a hold, a disruption and its reset. The published
    /// JSON is read with Foundation's parser, not the daemon's own, and
    /// chronyd's view is checked against `chronyc sources`.
    @Suite(.enabled(if: ChronyProcess.isAvailable, "needs root and /usr/sbin/chronyd"))
    struct DaemonState {
        static let offset = 3_200_000

        @Test func statusShowsTrackingAHoldADisruptionAndItsAcknowledgedReset() throws {
            let rig = try Rig(page: ["offset_ns=\(Self.offset)"], chronyd: .selectable, relay: true, interval: 0.0625)
            defer { rig.stop() }
            let chronyd = try #require(rig.chronyd)
            let relay = try #require(rig.relay)
            let daemon = rig.daemon
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")

            // Tracking, and chronyd follows VMCK: the daemon says so once it has asked.
            var view = try #require(published(rig) { $0.state?.chronyd?.vmck?.selected == true }, "\(rig.report)")
            var state = try #require(view.state)
            #expect(view.running)
            #expect(state.pid == Int(daemon.pid ?? -1))
            #expect(state.state == "tracking" && state.reason == nil)
            #expect(state.device == rig.simulator.pagePath)
            #expect(state.started <= state.since, "tracking began after the start")
            let trackingLine = try #require(daemon.lines(containing: "→ tracking").first)
            let trackingAt = try #require(logStamp(trackingLine))
            #expect(abs(Double(Int64(state.since) - trackingAt)) < 0.5e9, "since \(state.since) vs the log's \(trackingLine)")
            let sample = try #require(state.lastSample)
            #expect(abs(sample.offset - Self.offset) <= sample.bound, "offset \(sample.offset) ns ± \(sample.bound) vs \(Self.offset)")
            #expect(sample.bound > 0 && sample.bound <= state.promise)
            #expect(sample.at <= state.published)
            let received = relay.samples.filter { Int($0.tvNanoseconds) <= state.published }.count
            #expect(abs(state.samples.sent - received) <= 1, "published \(state.samples.sent) sent; the relay got \(received) by then")
            #expect(state.samples.withheld == state.samples.withheldByReason.values.reduce(0, +))
            #expect(state.disruptionsTotal == 0 && state.reset == nil)
            let source = try #require(chronyd.sources())
            #expect(source.state == "*", "chronyc sources: \(source)")
            #expect(state.chronyd?.vmck?.state == "selected")
            #expect(try metricsAgree(rig, "tracking", sent: nil))

            // A hold: the host stops vouching for its time.
            try rig.simulator.send("set clock_status=unreliable")
            view = try #require(published(rig) { $0.state?.state == "holding" }, "\(rig.report)")
            state = try #require(view.state)
            #expect(state.reason == "status")
            #expect(state.reasonText?.contains("clock_status") == true)
            let withheld = try #require(published(rig) { ($0.state?.samples.withheldByReason["status"] ?? 0) > 0 })
            #expect(withheld.state?.samples.withheld ?? 0 >= withheld.state?.samples.withheldByReason["status"] ?? 0)
            let waited = try runVMClockd(["wait", "--timeout", "0.5", "--status-file", daemon.statusFilePath])
            #expect(waited.status == 1, "wait during a hold: \(waited)")
            #expect(waited.stdout.contains("vmclockd is holding"), "\(waited.stdout)")
            try rig.simulator.send("set clock_status=synchronized")
            try #require(published(rig) { $0.state?.state == "tracking" } != nil, "\(rig.report)")

            // A disruption: counted, its reset asked and acknowledged, then tracking again.
            let ack = try rig.simulator.send("disrupt step_ns=1000000")
            let marker = try #require(ack["marker"].flatMap { UInt64($0) })
            view = try #require(published(rig) {
                $0.state?.reset?.acknowledged == true && $0.state?.state == "tracking"
            }, "\(rig.report)")
            state = try #require(view.state)
            #expect(state.disruptionsTotal == 1 && state.disruptionsByKind == ["migration": 1])
            let last = try #require(state.lastDisruption)
            #expect(last.kind == "migration" && last.marker == marker && !last.whileAway)
            #expect(state.disruptionMarker == marker)
            let reset = try #require(state.reset)
            #expect(reset.disruption == 1)
            #expect(last.at <= reset.requested && reset.requested <= (reset.acknowledgedAt ?? 0))
            #expect(daemon.lines(containing: "chronyd acknowledged 'reset sources' for disruption 1").count == 1)
            #expect(state.lastRestore == nil)
            #expect(state.since >= (reset.acknowledgedAt ?? .max), "tracking again only after the acknowledgement")
            let after = try #require(published(rig) { ($0.state?.lastSample?.at ?? 0) > (reset.acknowledgedAt ?? .max) })
            let resumed = try #require(after.state?.lastSample)
            #expect(abs(resumed.offset - (Self.offset + 1_000_000)) <= resumed.bound, "after the +1 ms step: \(resumed.offset) ns")
            #expect(try metricsAgree(rig, "tracking", sent: nil))
            let metrics = try parseMetrics(String(contentsOfFile: daemon.metricsFilePath, encoding: .utf8))
            #expect(metrics["vmclockd_disruptions_total{kind=\"migration\"}"] == 1)
            #expect(metrics["vmclockd_chronyd_reset_pending"] == 0)
            // Prometheus's own linter accepts the file: names, types, units, _total.
            let linted = try runProgram(["/bin/sh", "-c", "\"$0\" check metrics < \"$1\"", promtoolPath, daemon.metricsFilePath])
            #expect(linted.status == 0, "promtool check metrics: \(linted.stdout)\(linted.stderr)")

            // Stopped: nothing claims a running daemon.
            let stopped = daemon.stop()
            #expect(stopped.exit == .status(0))
            #expect(!FileManager.default.fileExists(atPath: daemon.statusFilePath))
            #expect(!FileManager.default.fileExists(atPath: daemon.metricsFilePath))
            let shown = try runVMClockd(["status", "--device", rig.simulator.pagePath, "--status-file", daemon.statusFilePath])
            #expect(shown.stdout.contains("daemon") && shown.stdout.contains("not running"), "\(shown.stdout)")
        }

        /// What `status` says of chronyd is no older than the answer it
        /// shows: once chronyd holds a sample of VMCK, the daemon's next
        /// answer is published even when the refresh is an hour away, so
        /// "no sample of it yet" does not stay on screen.
        @Test func chronydsFirstSampleOfVMCKIsPublishedWithoutWaitingForTheRefresh() throws {
            // A sample a second, 4 to a chronyd poll: chronyd's first sample of
            // VMCK comes seconds after the first answer asked since tracking
            // began (published at once, and saying "no sample of it yet").
            let rig = try Rig(page: ["offset_ns=\(Self.offset)"], chronyd: .noselect, relay: false, interval: 1,
                              options: ["--publish-interval", "3600"])
            defer { rig.stop() }
            let chronyd = try #require(rig.chronyd)
            try #require(published(rig) { $0.state?.state == "tracking" } != nil, "\(rig.report)")
            let sampled = eventually(within: 30, every: 0.1) { chronyd.sources()?.lastRxSeconds != nil }
            try #require(sampled, "chronyd never took a sample of VMCK: \(String(describing: chronyd.sources()))")
            // A missing sample reads as -1 here (null in the file).
            let shown = try #require(published(rig) { ($0.state?.chronyd?.vmck?.error ?? -1) >= 0 }, "\(rig.report)")
            let vmck = try #require(shown.state?.chronyd?.vmck)
            #expect(abs(vmck.offset - Self.offset) <= max(vmck.error, 1_000_000), "chronyd's view: \(vmck)")
            let text = try runVMClockd(["status", "--device", rig.simulator.pagePath, "--status-file", rig.daemon.statusFilePath])
            #expect(!text.stdout.contains("no sample of it yet"), "\(text.stdout)")
        }

        /// A reset chronyd cannot acknowledge (it is not running) shows as
        /// owed, with its failed attempts, until chronyd comes and acknowledges it.
        @Test func anUnacknowledgedResetShowsAsOwedUntilChronydAcknowledgesIt() throws {
            let rig = try Rig(page: ["offset_ns=\(Self.offset)"], chronyd: .later, relay: false, interval: 0.0625)
            defer { rig.stop() }
            try #require(published(rig) { $0.state?.state == "tracking" } != nil, "\(rig.report)")
            try rig.simulator.send("disrupt")
            // Calibrating again first, then waiting for chronyd alone.
            let owed = try #require(published(rig) { ($0.state?.resetFailures ?? 0) > 0 && $0.state?.reason == "reset-pending" }, "\(rig.report)")
            let state = try #require(owed.state)
            #expect(state.reset?.disruption == 1 && state.reset?.acknowledged == false && state.reset?.acknowledgedAt == nil)
            let failed = rig.daemon.lines(containing: "has not acknowledged 'reset sources' for disruption 1")
            #expect(!failed.isEmpty, "the log says so too")
            let metrics = try parseMetrics(String(contentsOfFile: rig.daemon.metricsFilePath, encoding: .utf8))
            #expect(metrics["vmclockd_chronyd_reset_pending"] == 1)
            #expect((metrics["vmclockd_chronyd_reset_failures_total"] ?? 0) >= 1)
            let shown = try runVMClockd(["status", "--device", rig.simulator.pagePath, "--status-file", rig.daemon.statusFilePath])
            #expect(shown.stdout.contains("NOT acknowledged yet"), "\(shown.stdout)")

            _ = try rig.startChronyd()
            let acknowledged = try #require(published(rig) { $0.state?.reset?.acknowledged == true }, "\(rig.report)")
            #expect(acknowledged.state?.reset?.disruption == 1)
            #expect(rig.daemon.lines(containing: "chronyd acknowledged 'reset sources' for disruption 1").count == 1)
        }

        /// chronyd runs, but not with a command socket where the daemon
        /// looks for it (the same as none at all): the reset after a
        /// disruption stays owed, the daemon holds, and both the log (once,
        /// however many attempts) and `vmclockd status` say why and what to
        /// configure.
        @Test func noCommandSocketWhereTheDaemonLooksSaysWhyItHoldsAndWhatToConfigure() throws {
            let rig = try Rig(page: ["offset_ns=\(Self.offset)"], chronyd: .noselect, relay: false, interval: 0.0625,
                              daemonControlSocketName: "elsewhere.sock")
            defer { rig.stop() }
            let chronyd = try #require(rig.chronyd)
            let path = rig.chronyDirectory + "/cmd/elsewhere.sock"
            try #require(published(rig) { $0.state?.state == "tracking" } != nil, "\(rig.report)")
            try rig.simulator.send("disrupt")
            // Several attempts (100 ms, doubling): retried, not logged each time.
            let owed = try #require(published(rig) { ($0.state?.resetFailures ?? 0) >= 4 }, "\(rig.report)")
            let state = try #require(owed.state)
            #expect(state.state == "holding" && state.reason == "reset-pending", "\(state)")
            #expect(state.reset?.acknowledged == false)
            let unreachable = try #require(state.chronyd?.unreachable, "\(state)")
            #expect(unreachable.contains("\(path) is unreachable (No such file or directory)"), "\(unreachable)")

            let shown = try runVMClockd(["status", "--device", rig.simulator.pagePath, "--status-file", rig.daemon.statusFilePath])
            let why = try #require(shown.stdout.split(separator: "\n").first { $0.contains("why") }, "\(shown.stdout)")
            for words in ["reset sources", "\(path) is unreachable (No such file or directory)", "bindcmdaddress \(path)", "control-socket", "restart chronyd"] {
                #expect(why.contains(words), "\(why)")
            }
            let waited = try runVMClockd(["wait", "--timeout", "0.2", "--status-file", rig.daemon.statusFilePath])
            #expect(waited.status == 1 && waited.stdout.contains("bindcmdaddress \(path)"), "\(waited)")

            let logged = rig.daemon.lines(containing: "has not acknowledged 'reset sources' for disruption 1")
            let first = try #require(logged.first, "\(rig.report)")
            #expect(first.contains("bindcmdaddress \(path)"), "\(first)")
            // One line a minute at most, whatever the attempts.
            let minutes = Int((realtimeNanoseconds() - (logStamp(first) ?? 0)) / 60_000_000_000)
            #expect(logged.count <= 1 + minutes, "\(state.resetFailures) attempts:\n\(logged.joined(separator: "\n"))")
            // chronyd itself is fine, at its own socket.
            #expect(chronyd.tracking() != nil, "\(chronyd.log)")
        }

        /// A daemon killed without a chance to clean up leaves its file:
        /// `status` must not show it as running.
        @Test func aFileLeftByAKilledDaemonIsNotARunningDaemon() throws {
            let rig = try Rig(page: ["offset_ns=\(Self.offset)"], chronyd: .none, relay: false, interval: 0.25)
            defer { rig.stop() }
            try #require(published(rig) { $0.state?.state == "tracking" } != nil, "\(rig.report)")
            let pid = try #require(rig.daemon.pid)
            kill(pid, SIGKILL)
            try #require(eventually(within: 10) { !rig.daemon.isRunning })
            #expect(FileManager.default.fileExists(atPath: rig.daemon.statusFilePath))
            let view = try #require(try status(rig))
            #expect(!view.running)
            #expect(view.problem?.contains("pid \(pid) is gone") == true, "\(view.problem ?? "")")
            let text = try runVMClockd(["status", "--device", rig.simulator.pagePath, "--status-file", rig.daemon.statusFilePath])
            #expect(text.stdout.contains("not running: pid \(pid) is gone"), "\(text.stdout)")
        }

        /// chronyd's view of a VMCK it may not select (so it does not absorb
        /// the offset into its virtual clock, -x): the offset the daemon sends,
        /// with the daemon's sign, as `chronyc sources` shows it.
        @Test func chronydsViewOfVMCKIsTheOffsetItMeasured() throws {
            let rig = try Rig(page: ["offset_ns=\(Self.offset)"], chronyd: .noselect, relay: false, interval: 0.0625)
            defer { rig.stop() }
            let chronyd = try #require(rig.chronyd)
            let view = try #require(published(rig) { ($0.state?.chronyd?.vmck?.error ?? 0) > 0 }, "\(rig.report)")
            let vmck = try #require(view.state?.chronyd?.vmck)
            #expect(!vmck.selected && vmck.state != "selected")
            #expect(abs(vmck.measuredOffset - Self.offset) <= vmck.error, "\(vmck)")
            #expect(abs(vmck.offset - Self.offset) <= vmck.error, "\(vmck)")
            let source = try #require(chronyd.sources())
            // chronyc prints chronyd's sign: the reference ahead is negative.
            #expect(abs(source.measuredOffsetSeconds * 1e9 + Double(Self.offset)) <= Double(vmck.error), "chronyc \(source)")
        }

        // MARK: - vmclockd wait

        @Test func waitReturnsOnceTrackingAndChronydFollowsVMCKAndNotBefore() throws {
            let rig = try Rig(page: ["offset_ns=\(Self.offset)", "clock_status=unreliable"], chronyd: .selectable, relay: false, interval: 0.0625)
            defer { rig.stop() }
            let chronyd = try #require(rig.chronyd)
            try #require(published(rig) { $0.state?.state == "holding" } != nil, "\(rig.report)")
            let output = rig.dir.path("wait.out")
            let waiting = try Child(name: "vmclockd wait", arguments: [Products.vmclockd.path, "wait", "--status-file", rig.daemon.statusFilePath],
                                    stdout: .file(output), stderr: .file(output))
            defer { _ = waiting.stop() }
            // While the published state is a hold, wait has not returned.
            for _ in 0..<5 {
                let view = try #require(try status(rig))
                try #require(view.state?.state == "holding")
                #expect(!waiting.hasExited, "wait returned during a hold: \(readFile(output) ?? "")")
                usleep(200_000)
            }
            try rig.simulator.send("set clock_status=synchronized")
            try #require(eventually(within: 30) { waiting.hasExited }, "wait never returned\n\(rig.report)")
            #expect(waiting.exit == .status(0), "\(readFile(output) ?? "")")
            // What wait saw is what chronyd says, asked independently.
            #expect(chronyd.sources()?.state == "*", "chronyc sources: \(chronyd.sources().map { "\($0)" } ?? "none")")
            let view = try #require(try status(rig))
            #expect(view.state?.state == "tracking")
            #expect(readFile(output)?.contains("the clock is good") == true, "\(readFile(output) ?? "")")
        }

        @Test func waitTimesOutNamingWhatIsMissing() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let absent = try runVMClockd(["wait", "--timeout", "0.3", "--status-file", dir.path("status.json")])
            #expect(absent.status == 1)
            #expect(absent.stdout.contains("timed out after 0.3 s") && absent.stdout.contains("not running"), "\(absent.stdout)")
            let bad = try runVMClockd(["wait", "--timeout", "-1"])
            #expect(bad.status == 64 && bad.stderr.contains("--timeout"), "\(bad)")

            // A daemon with no chronyd: tracking, but nobody follows VMCK.
            let rig = try Rig(page: ["offset_ns=\(Self.offset)"], chronyd: .none, relay: false, interval: 0.25)
            defer { rig.stop() }
            try #require(published(rig) { $0.state?.state == "tracking" && $0.state?.chronyd != nil } != nil, "\(rig.report)")
            let waited = try runVMClockd(["wait", "--timeout", "0.5", "--status-file", rig.daemon.statusFilePath])
            #expect(waited.status == 1)
            #expect(waited.stdout.contains("chronyd unreachable"), "\(waited.stdout)")
        }

        @Test func waitFollowsTheDaemonsOwnSegmentOrItsNone() throws {
            // A daemon writing no segment: wait, told nothing, reads none, and a page without clock
            // data gives exit 2 at once, as before the segment existed.
            let rig = try Rig(page: ["counter_id=invalid"], chronyd: .none, relay: false, interval: 0.25,
                              options: ["--clockbound-segment", "none"])
            defer { rig.stop() }
            try #require(published(rig) { $0.state?.state == "disruption-only" } != nil, "\(rig.report)")
            let waited = try runVMClockd(["wait", "--timeout", "5", "--status-file", rig.daemon.statusFilePath])
            #expect(waited.status == 2 && waited.stdout.contains("no clock data"), "\(waited)")
        }

        @Test func waitOnAPageWithNoClockDataSaysSoOnceNoResetIsOwed() throws {
            // QEMU's and Firecracker's pages: the daemon never tracks, so
            // waiting for VMCK would hang a boot for ever.
            let rig = try Rig(page: ["counter_id=invalid"], chronyd: .none, relay: false, interval: 0.25)
            defer { rig.stop() }
            try #require(published(rig) { $0.state?.state == "disruption-only" } != nil, "\(rig.report)")
            let first = try runVMClockd(["wait", "--timeout", "5", "--segment", "none", "--status-file", rig.daemon.statusFilePath])
            #expect(first.status == 2, "\(first)")
            #expect(first.stdout.contains("no clock data") && first.stdout.contains("chronyc waitsync"), "\(first.stdout)")
            // With a segment, chronyd's bound there says when the clock is good: wait waits for it.
            let segment = ["--segment", rig.dir.path("shm0"), "--status-file", rig.daemon.statusFilePath]
            let noSegmentYet = try runVMClockd(["wait", "--timeout", "1"] + segment)
            #expect(noSegmentYet.status == 1 && noSegmentYet.stdout.contains("No such file"), "\(noSegmentYet)")
            try HandSegment(status: 1).write(to: rig.dir.path("shm0"))
            let synchronized = try runVMClockd(["wait", "--timeout", "5"] + segment)
            #expect(synchronized.status == 0 && synchronized.stdout.contains("segment says synchronized"), "\(synchronized)")

            // Unnamed, the segment is the one the running daemon says it writes (here beside its log):
            // no chronyd, so it says unknown, and wait names that, not a missing /run/clockbound.
            let own = try runVMClockd(["wait", "--timeout", "0.5", "--status-file", rig.daemon.statusFilePath])
            #expect(own.status == 1 && own.stdout.contains("segment: unknown"), "\(own)")

            // A disruption with no chronyd to acknowledge its reset: chronyd may
            // still hold what the old host taught it, so wait keeps waiting.
            try rig.simulator.send("disrupt")
            try #require(published(rig) { $0.state?.reset?.acknowledged == false } != nil, "\(rig.report)")
            let owed = try runVMClockd(["wait", "--timeout", "0.5", "--segment", "none", "--status-file", rig.daemon.statusFilePath])
            #expect(owed.status == 1, "\(owed)")
            #expect(owed.stdout.contains("has not acknowledged the reset for disruption 1"), "\(owed.stdout)")
        }
    }
}

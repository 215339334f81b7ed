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
    /// `vmclockd run` end to end, checked the way an operator would check it:
    /// the daemon's log, `chronyc`, and — through `RecordingRelay`, placed
    /// where chronyd's refclock socket would be — every datagram chronyd is
    /// given. Each test starts its own simulator (`vmclock-sim`), private
    /// chronyd (`-x`, its own sockets, never the machine's), relay and daemon,
    /// and stops them in `defer`.
    ///
    /// Timing: `--interval 0.25` (4 samples a second) with the refclock `poll`
    /// that `vmclockd chrony-config` prints for it (-2: one raw sample a poll,
    /// one filtered chronyd sample a second); `--settle-time 0.5` or 0. The daemon measures the
    /// counter's rate for 20 ms (PeriodCalibration.minimumSpanNanoseconds)
    /// after starting and after every disruption, so it tracks a few tens of
    /// ms plus the settle time after either. Waits poll a condition with a
    /// deadline; the few fixed waits are observation windows for "nothing happens".
    @Suite(.enabled(if: ChronyProcess.isAvailable, "needs root and /usr/sbin/chronyd"))
    struct DaemonRun {
        /// The simulated page runs 3.2 ms ahead of the system clock.
        static let offset = 0.0032

        // MARK: 1. offset

        @Test func offsetReachesChronydWithChronycsSign() throws {
            let rig = try Rig(page: ["offset_ns=3200000"], chronyd: .noselect, relay: true, options: ["--settle-time", "0.5"])
            defer { rig.stop() }
            let chronyd = try #require(rig.chronyd)
            let relay = try #require(rig.relay)
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")

            var stats: SourceStatsRow?
            let enough = eventually(within: 15) {
                stats = chronyd.sourceStats()
                return (stats?.samples ?? 0) >= 4
            }
            try #require(enough, "VMCK never reached 4 points: \(String(describing: stats))\n\(rig.report)")
            let row = try #require(stats)
            let source = try #require(chronyd.sources())
            let samples = relay.datagrams

            // Tolerance, from what was measured on this kind of machine:
            // - the simulator anchors the page to CLOCK_REALTIME every 50 ms
            //   with a best-of-9 counter bracket (tens of ns) and extrapolates
            //   at most 50 ms with a period measured over ≥ 50 ms (< 20 ns);
            // - the daemon's cross-timestamp: the page evaluated at the middle
            //   of a best-of-5 counter bracket around CLOCK_REALTIME, half of
            //   which (~10–30 ns) is unknown;
            // - chronyd: its 32-bit network Float has a 25-bit coefficient
            //   (2e-10 s at 3.2 ms); chronyc -c prints to 1 ns; its median
            //   filter and regression only average the samples.
            // The whole chain is good to ~50 ns (192 samples, with the
            // truncation below removed, scattered ±10 ns); 250 ns is five
            // times that and 1/12800 of the offset, so neither a sign error
            // nor a µs/ns slip nor a per-sample bias of half a µs passes
            // (TestSupport's chainToleranceSeconds: 250 ns, and a coarse
            // counter's quantum under emulation).
            let tolerance = chainToleranceSeconds

            // What chronyd made of it, with chronyc's sign: a reference AHEAD
            // of the system clock shows NEGATIVE.
            #expect(abs(row.offsetSeconds - -Self.offset) <= tolerance, "sourcestats \(row)")
            #expect(abs(source.measuredOffsetSeconds - -Self.offset) <= tolerance, "sources \(source)")
            #expect(abs(source.adjustedOffsetSeconds - -Self.offset) <= tolerance, "sources \(source)")
            #expect(source.state == "?" || source.state == "-", "noselect: \(source)")
            #expect(chronyd.chronyc(["sources"], csv: false).contains("-3200us"))

            // What it was given: well-formed samples, all forwarded.
            try #require(samples.count >= 12, "\(samples.count) datagrams")
            for datagram in samples {
                let sample = try #require(datagram.sample, "\(datagram.bytes.count)-byte datagram")
                #expect(sample.isWellFormed && sample.pulse == 0 && sample.leap == 0 && sample.pad == 0, "\(sample)")
                #expect(datagram.wasForwarded, "forwarding to chronyd: errno \(String(describing: datagram.forwardErrno))")
                // Sent right after it was measured (tv is the measurement),
                // before the next one is due.
                let age = Double(datagram.receivedNanoseconds - sample.tvNanoseconds) * 1e-9
                #expect(age >= 0 && age < 0.25, "received \(age) s after its tv")
                // Each within the page's own bound (time_maxerror 10 µs, plus the read).
                #expect(abs(sample.offset - Self.offset) <= 11e-6, "\(sample)")
            }
            // And, taken together, as exact as the chain allows: the median
            // error, so that one preempted read cannot decide it.
            let errors = samples.compactMap(\.sample).map { $0.offset - Self.offset }.sorted()
            let median = errors[errors.count / 2]
            let mean = errors.reduce(0, +) / Double(errors.count)
            measured("offset: chronyd sourcestats \(row.offsetSeconds) s (NP \(row.samples)), sources \(source.measuredOffsetSeconds) s; relay − 3.2 ms over \(errors.count) samples: median \(ns(median)) ns, mean \(ns(mean)) ns, range \(ns(errors.first!))…\(ns(errors.last!)) ns")
            #expect(
                abs(median) <= tolerance,
                """
                recorded offset − 3.2 ms over \(errors.count) samples: median \(ns(median)) ns, mean \(ns(mean)) ns, \
                min \(ns(errors.first!)) ns, max \(ns(errors.last!)) ns. A spread over [0, 1 µs) with mean 0.5 µs is \
                tv's truncation to µs leaking into the offset (SampleBuilder measures the offset from the truncated \
                tv instead of from the nanosecond reading).
                """)
        }

        // MARK: 2. gating on the promise

        @Test func boundAboveThePromiseStopsSamplesAndBelowResumesThem() throws {
            let rig = try Rig(chronyd: .noselect, relay: true, options: ["--settle-time", "0.5", "--max-error", "0.001"])
            defer { rig.stop() }
            let relay = try #require(rig.relay)
            let daemon = rig.daemon
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            try #require(eventually(within: 3) { relay.count >= 2 }, "\(rig.report)")

            // 2 ms > the 1 ms promise.
            let raised = try rig.simulator.send("set time_maxerror_ns=2000000")
            let raisedAt = try publishedNanoseconds(raised)
            let hold = daemon.waitForLog(containing: "tracking → holding/bound", within: 2)
            try #require(hold != nil, "\(rig.report)")
            #expect(hold!.contains("above the promised 1000000 ns (--max-error)"), "\(hold!)")
            let countAtHold = relay.count
            // Six sample intervals: six chances to send, none taken.
            usleep(1_500_000)
            let during = relay.datagrams
            // A datagram sent before the state change may still have been on
            // its way into the relay when the log line appeared: at most one,
            // and measured before the change was published.
            let late = during[countAtHold...]
            #expect(late.count <= 1, "\(late.count) datagrams after the hold")
            #expect(late.allSatisfy { ($0.sample?.tvNanoseconds ?? .max) <= raisedAt })
            #expect(
                during.compactMap(\.sample).filter { $0.tvNanoseconds > raisedAt }.isEmpty,
                "a sample measured after the bound rose was sent")
            #expect(daemon.lines(containing: "→ holding/bound").count == 1, "hold reason logged once:\n\(daemon.log)")
            #expect(daemon.lines(containing: "sample withheld").isEmpty, "\(daemon.log)")

            // Back within the promise: samples resume (no disruption, so no settling).
            let lowered = try rig.simulator.send("set time_maxerror_ns=10000")
            let loweredAt = try publishedNanoseconds(lowered)
            #expect(daemon.waitForLog(containing: "holding/bound → tracking", within: 2) != nil, "\(rig.report)")
            let resumed = eventually(within: 3) {
                relay.samples.filter { $0.tvNanoseconds > loweredAt }.count >= 3
            }
            #expect(resumed, "\(rig.report)")
            for sample in relay.samples where sample.tvNanoseconds > loweredAt {
                #expect(abs(sample.offset) <= 11e-6, "\(sample)")
            }
        }

        // MARK: 3. disruption

        @Test func disruptionResetsChronydHoldsAndResumesAtTheNewOffset() throws {
            let settle = 0.5
            let rig = try Rig(page: ["offset_ns=3200000"], chronyd: .noselect, relay: true, options: ["--settle-time", "\(settle)"])
            defer { rig.stop() }
            let chronyd = try #require(rig.chronyd)
            let relay = try #require(rig.relay)
            let daemon = rig.daemon
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            try #require(eventually(within: 15) { (chronyd.sourceStats()?.samples ?? 0) >= 3 }, "\(rig.report)")

            let ack = try rig.simulator.send("disrupt step_ns=1000000")
            let published = try publishedNanoseconds(ack)
            let marker = try #require(ack["marker"])
            let disruption = daemon.waitForLog(containing: "disruption: disruption_marker changed", within: 2)
            try #require(disruption != nil, "\(rig.report)")
            #expect(disruption!.contains("→ \(marker),"), "\(disruption!)")
            try #require(daemon.waitForLog(containing: "chronyd acknowledged 'reset sources'", within: 3) != nil, "\(rig.report)")
            // chronyd dropped VMCK's history. Nothing can refill it yet: the
            // daemon waits out the settle time before it sends again.
            let reset = try #require(chronyd.sourceStats())
            #expect(reset.samples == 0, "after reset sources: \(reset)")

            // Resumes after the settle time, at the new offset.
            try #require(daemon.waitForLog(containing: "→ tracking", occurrence: 2, within: 5) != nil, "\(rig.report)")
            try #require(
                eventually(within: 5) { relay.samples.filter { $0.tvNanoseconds > published }.count >= 4 },
                "\(rig.report)")

            // No datagram computed before the bump is sent after it. The
            // criterion is tv (the CLOCK_REALTIME reading the sample was
            // measured at) > published_ns (CLOCK_REALTIME read by the
            // simulator right AFTER the new page was complete, seq_count even
            // again): the daemon reads the page, then its cross-timestamp
            // (tv), then checks seq_count unchanged — so the page it used was
            // the current one at tv. Any tv later than published_ns is after
            // the new page went up, so the page current then, and the sample,
            // must carry the new marker and offset. (Both processes read the
            // same CLOCK_REALTIME; tv, truncated to µs, is never later than
            // the reading.) A tv before published_ns proves nothing either
            // way, so the test is one-sided and cannot pass by luck.
            //
            // Which offset: 3.2 ms and 4.2 ms are 1 ms apart; 5 µs (the
            // page's bound is 10 µs) tells them apart without depending on
            // the exactness test 1 is about.
            let which = 5e-6
            let samples = relay.samples
            let after = samples.filter { $0.tvNanoseconds > published }
            let before = samples.filter { $0.tvNanoseconds <= published }
            for sample in after {
                #expect(abs(sample.offset - (Self.offset + 0.001)) <= which, "measured after the change: \(sample)")
            }
            for sample in before {
                #expect(abs(sample.offset - Self.offset) <= which, "measured before the change: \(sample)")
            }
            // The hold: nothing measured before the settle time is out.
            let firstAfter = try #require(after.map(\.tvNanoseconds).min())
            let held = Double(firstAfter - published) * 1e-9
            #expect(held >= settle - 0.001, "first sample \(held) s after the disruption")
            measured("disruption: \(before.count) samples before, \(after.count) after; first new sample measured \(held) s after the change")
            // And nothing old arrives late: every datagram went out right
            // after its measurement, before the next was due.
            for datagram in relay.datagrams {
                let age = Double(datagram.receivedNanoseconds - (datagram.sample?.tvNanoseconds ?? 0)) * 1e-9
                #expect(age >= 0 && age < 0.25, "received \(age) s after its tv")
            }

            // chronyd, fed afresh, shows the new offset (chronyc's sign).
            var stats: SourceStatsRow?
            let settled = eventually(within: 10) {
                stats = chronyd.sourceStats()
                guard let row = stats, row.samples >= 3 else { return false }
                return abs(row.offsetSeconds - -(Self.offset + 0.001)) <= which
            }
            #expect(settled, "sourcestats \(String(describing: stats))\n\(rig.report)")
            #expect(daemon.lines(containing: "disruption:").count == 1)
        }

        // MARK: 4. disruption-only page

        @Test func disruptionOnlyPageSendsNothingAndResetsChronydOnEveryMarkerChange() throws {
            let rig = try Rig(page: ["counter_id=invalid"], chronyd: .noselect, relay: true, options: ["--settle-time", "0.5"])
            defer { rig.stop() }
            let chronyd = try #require(rig.chronyd)
            let relay = try #require(rig.relay)
            let daemon = rig.daemon
            try #require(daemon.waitForLog(containing: "starting → disruption-only", within: 3) != nil, "\(rig.report)")

            // The test feeds chronyd itself (the daemon never will), so that
            // each reset has something to drop.
            let feeder = try RefclockSocket(path: chronyd.refclockPath)
            let bumps = 3
            for bump in 1...bumps {
                let fed = eventually(within: 8, every: 0.25) {
                    _ = feeder.send(sampleNow(offset: Self.offset))
                    return (chronyd.sourceStats()?.samples ?? 0) >= 1
                }
                try #require(fed, "bump \(bump): chronyd took no sample:\n\(chronyd.log)")
                try rig.simulator.send("disrupt")
                let done = daemon.waitForLog(containing: "chronyd acknowledged 'reset sources'", occurrence: bump, within: 3)
                try #require(done != nil, "bump \(bump):\n\(rig.report)")
                let stats = try #require(chronyd.sourceStats())
                #expect(stats.samples == 0, "bump \(bump): \(stats)")
            }
            // Fifty watch intervals later, still exactly one reset per bump.
            usleep(500_000)
            #expect(daemon.lines(containing: "chronyd acknowledged 'reset sources'").count == bumps, "\(daemon.log)")
            #expect(daemon.lines(containing: "disruption: disruption_marker changed").count == bumps, "\(daemon.log)")
            #expect(relay.count == 0, "the daemon sent \(relay.count) datagrams from a page without clock data")
            #expect(daemon.lines(containing: "→ tracking").isEmpty)
            #expect(daemon.lines(containing: "asking chronyd to step").isEmpty)
        }

        // MARK: 5. chronyd restarted, chronyd absent

        @Test func samplesReachARestartedChronydPromptly() throws {
            // The daemon talks to chronyd's socket itself here: it must
            // notice the refused sends and recover by itself.
            let interval = 0.125
            let rig = try Rig(chronyd: .noselect, relay: false, interval: interval, options: ["--settle-time", "0"])
            defer { rig.stop() }
            let chronyd = try #require(rig.chronyd)
            let daemon = rig.daemon
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            try #require(eventually(within: 10) { (chronyd.sourceStats()?.samples ?? 0) >= 1 }, "\(rig.report)")

            // Down: chronyd (as _chrony) cannot remove its root-owned socket,
            // so the file stays, and sends are refused.
            chronyd.stop()
            let missing = daemon.waitForLog(containing: "is not there (Connection refused)", within: 2)
            try #require(missing != nil, "\(rig.report)")

            try chronyd.start()
            // The moment the new socket appeared: its file's modification
            // time, set when chronyd bound it (by the kernel's coarse clock,
            // up to a tick early, so the delays below can only come out longer).
            let appeared = try #require(creationTimeNanoseconds(chronyd.refclockPath))
            var firstPoint: Int64?
            let fed = eventually(within: 4, every: 0.02) {
                guard (chronyd.sourceStats()?.samples ?? 0) >= 1 else { return false }
                firstPoint = realtimeNanoseconds()
                return true
            }
            try #require(fed, "the restarted chronyd got no sample:\n\(rig.report)\n\(chronyd.log)")
            let again = try #require(daemon.waitForLog(containing: "samples are reaching chronyd again", within: 1))
            let firstSend = try #require(logStamp(again))
            let sendDelay = Double(firstSend - appeared) * 1e-9
            let pointDelay = Double(firstPoint! - appeared) * 1e-9
            // The first send after the socket appeared succeeds: the daemon
            // retries at least once a second while it is missing.
            #expect(sendDelay <= 1.0 + interval + 0.1, "first sample reached chronyd \(sendDelay) s after its socket appeared")
            // chronyd's first filtered sample needs 4 of ours and its next poll.
            #expect(pointDelay <= 2.0, "chronyd's first sample \(pointDelay) s after its socket appeared")
            measured("chronyd restart: first send \(sendDelay) s, chronyd's first point \(pointDelay) s after its socket appeared")
            #expect(daemon.lines(containing: "is not there").count == 1, "\(daemon.log)")
            #expect(daemon.lines(containing: "samples are reaching chronyd again").count == 1)
        }

        @Test func chronydAbsentAtStartIsLoggedOnceAndFedOnceItStarts() throws {
            let interval = 0.0625
            let rig = try Rig(chronyd: .later, relay: false, interval: interval, options: ["--settle-time", "0"])
            defer { rig.stop() }
            let daemon = rig.daemon
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            let missing = daemon.waitForLog(containing: "is not there (No such file or directory)", within: 1)
            try #require(missing != nil, "\(rig.report)")
            #expect(missing!.contains(rig.refclockPath))
            // Four seconds at 16 samples a second: 64 failed sends, one line.
            usleep(4_000_000)
            #expect(daemon.isRunning)
            #expect(daemon.lines(containing: "is not there").count == 1, "\(daemon.log)")
            #expect(daemon.logLines().count <= 6, "the log grows while chronyd is missing:\n\(daemon.log)")

            let chronyd = try rig.startChronyd()
            let appeared = try #require(creationTimeNanoseconds(chronyd.refclockPath))
            let again = try #require(daemon.waitForLog(containing: "samples are reaching chronyd again", within: 2), "\(rig.report)")
            let firstSend = try #require(logStamp(again))
            let sendDelay = Double(firstSend - appeared) * 1e-9
            // While the socket was missing the daemon backed off to one try a
            // second: the first send comes within that second (plus a look).
            #expect(sendDelay <= 1.0 + interval + 0.1, "first sample reached chronyd \(sendDelay) s after its socket appeared")
            #expect(eventually(within: 3) { (chronyd.sourceStats()?.samples ?? 0) >= 1 }, "\(rig.report)\n\(chronyd.log)")
            let pointDelay = Double(realtimeNanoseconds() - appeared) * 1e-9
            #expect(pointDelay <= 2.0)
            measured("chronyd late start: first send \(sendDelay) s, chronyd's first point ≤ \(pointDelay) s after its socket appeared; \(daemon.lines(containing: "is not there").count) 'not there' line(s)")
        }

        // MARK: 6. held, with the reason

        enum HoldCase: String, CaseIterable, Sendable, CustomTestStringConvertible {
            case unreliable, unknownStatus, smeared, foreignCounter, stuckWriter, implausiblePeriod

            var testDescription: String { rawValue }

            var page: [String] {
                switch self {
                case .unreliable: ["clock_status=unreliable"]
                case .unknownStatus: ["clock_status=unknown"]
                case .smeared: ["time_type=smeared"]
                #if arch(x86_64)
                case .foreignCounter: ["counter_id=arm64-cntvct"]
                #else
                case .foreignCounter: ["counter_id=x86-tsc"]
                #endif
                case .stuckWriter: []
                case .implausiblePeriod: ["period_error_ppm=2000"]
                }
            }

            var options: [String] {
                self == .implausiblePeriod ? ["--period-tolerance-ppm", "500"] : []
            }

            /// What the state line must say.
            var reason: [String] {
                switch self {
                case .unreliable: ["→ holding/status: clock_status is 4 (unreliable)"]
                case .unknownStatus: ["→ holding/status: clock_status is 0 (unknown)"]
                case .smeared: ["→ holding/no-time: no time: time_type is 3 (smeared)"]
                #if arch(x86_64)
                case .foreignCounter: ["→ holding/no-time: no time: counter_id is 0 (arm64-cntvct) but this machine reads 1 (x86-tsc)"]
                #else
                case .foreignCounter: ["→ holding/no-time: no time: counter_id is 1 (x86-tsc) but this machine reads 0 (arm64-cntvct)"]
                #endif
                case .stuckWriter: ["tracking → holding/busy: page busy: the host left seq_count odd"]
                case .implausiblePeriod:
                    ["holding/calibrating → holding/period: the page's counter period disagrees", "(tolerance 500.0 ppm)"]
                }
            }
        }

        @Test(arguments: HoldCase.allCases)
        func heldWithTheReasonInTheLog(_ hold: HoldCase) throws {
            let rig = try Rig(page: hold.page, chronyd: .none, relay: true, options: ["--settle-time", "0"] + hold.options)
            defer { rig.stop() }
            let relay = try #require(rig.relay)
            let daemon = rig.daemon
            let matches = { (line: String) in hold.reason.allSatisfy { line.contains($0) } }

            if hold == .stuckWriter {
                // The host gets stuck mid-update while the daemon is tracking.
                try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
                try #require(eventually(within: 2) { relay.count >= 1 })
                let stalled = try publishedNanoseconds(rig.simulator.send("stall"))
                let line = try #require(daemon.waitForLog(within: 2, where: matches), "\(rig.report)")
                // seq_count went odd just before `stalled`; the driver's
                // 100 ms of patience, then the next look (10 ms).
                let after = Double(try #require(logStamp(line)) - stalled) * 1e-9
                #expect(after >= 0.099 && after <= 0.4, "held as busy \(after) s after the stall")
                measured("stall: held as busy \(after) s after seq_count went odd")
                usleep(1_000_000)
                #expect(relay.samples.filter { $0.tvNanoseconds > stalled }.isEmpty, "sent while the page was stuck")
            } else {
                // From the start: a good page would be tracking 1 s (calibration)
                // after the first look; watch for 2.5 s.
                let started = try #require(daemon.waitForLog(containing: "started:", within: 2))
                let line = daemon.waitForLog(within: 3, where: matches)
                try #require(line != nil, "no line saying \(hold.reason):\n\(rig.report)")
                if hold == .implausiblePeriod, let range = line!.range(of: "measured rate by ") {
                    let ppm = Double(line![range.upperBound...].prefix { $0 != " " }) ?? 0
                    #expect(abs(ppm - 2000) <= 5, "\(line!)")
                }
                let startedAt = try #require(logStamp(started))
                while realtimeNanoseconds() < startedAt + 2_500_000_000 { usleep(50_000) }
                #expect(relay.count == 0, "\(relay.count) datagrams sent from a page held for \(hold)")
                #expect(daemon.lines(containing: "→ tracking").isEmpty, "\(daemon.log)")
            }
            #expect(daemon.logLines().filter(matches).count == 1, "the reason is logged once:\n\(daemon.log)")
        }

        // MARK: 7. signals

        @Test func sigtermStopsPromptlyAndSighupReopensWhileTracking() throws {
            // --watch-interval = --interval: the loop has nothing to do for
            // 250 ms at a time, the worst case for seeing a signal; it sleeps
            // in slices of at most 50 ms.
            let rig = try Rig(chronyd: .none, relay: true, options: ["--settle-time", "0", "--watch-interval", "0.25"])
            defer { rig.stop() }
            let relay = try #require(rig.relay)
            let daemon = rig.daemon
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            try #require(eventually(within: 2) { relay.count >= 1 })

            // SIGHUP: reopens the device and goes on tracking, without a
            // state change or a disruption.
            let hup = realtimeNanoseconds()
            daemon.send(signal: SIGHUP)
            let reopened = try #require(daemon.waitForLog(containing: "SIGHUP: reopening \(rig.simulator.pagePath)", within: 1))
            let reopenedAt = try #require(logStamp(reopened))
            #expect(Double(reopenedAt - hup) * 1e-9 < 0.1, "SIGHUP seen after \(Double(reopenedAt - hup) * 1e-9) s")
            let tracked = eventually(within: 3) { relay.samples.filter { $0.tvNanoseconds > reopenedAt }.count >= 4 }
            #expect(tracked, "\(rig.report)")
            let lines = daemon.logLines()
            let sinceHup = lines.drop { !$0.contains("SIGHUP") }.dropFirst()
            #expect(sinceHup.filter { $0.contains(" state ") || $0.contains("disruption") }.isEmpty, "\(daemon.log)")

            // SIGTERM: exit status 0 within 100 ms (the loop sleeps at most 50 ms at a time).
            let stopped = daemon.stop()
            #expect(!stopped.killed)
            #expect(stopped.exit == .status(0), "\(String(describing: stopped.exit))")
            #expect(stopped.seconds <= 0.1, "exited \(stopped.seconds) s after SIGTERM")
            measured("signals: SIGHUP logged \(Double(reopenedAt - hup) * 1e-9) s after it was sent; SIGTERM → \(String(describing: stopped.exit)) in \(stopped.seconds) s")
            #expect(daemon.lines(containing: "stopping on signal 15").count == 1, "\(daemon.log)")
        }

        // MARK: 8. restore vs migration; maintenance flags

        @Test func snapshotRestoreIsToldApartFromMigrationAndMaintenanceFlagsAreLoggedOnce() throws {
            let rig = try Rig(chronyd: .noselect, relay: false, options: ["--settle-time", "0"])
            defer { rig.stop() }
            let daemon = rig.daemon
            // A page has been seen (its identity is known) once the state moves.
            try #require(daemon.waitForLog(containing: "starting → ", within: 3) != nil, "\(rig.report)")

            let migrated = try rig.simulator.send("disrupt")
            let migration = try #require(
                daemon.waitForLog(containing: "disruption: disruption_marker changed (live migration or similar)", within: 2),
                "\(rig.report)")
            #expect(migration.contains("→ \(migrated["marker"]!), vm_generation_counter 1;"), "\(migration)")

            let restored = try rig.simulator.send("restore")
            #expect(restored["generation"] == "2")
            let restore = try #require(
                daemon.waitForLog(containing: "disruption: vm_generation_counter changed (snapshot restore)", within: 2),
                "\(rig.report)")
            #expect(restore.contains("→ \(restored["marker"]!), vm_generation_counter 2;"), "\(restore)")
            #expect(daemon.waitForLog(containing: "chronyd acknowledged 'reset sources'", occurrence: 2, within: 3) != nil, "\(rig.report)")

            try rig.simulator.send("set flags=+disruption_soon")
            #expect(daemon.waitForLog(containing: "(DISRUPTION_SOON)", within: 2) != nil, "\(rig.report)")
            try rig.simulator.send("set flags=+disruption_imminent")
            #expect(daemon.waitForLog(containing: "(DISRUPTION_IMMINENT)", within: 2) != nil, "\(rig.report)")
            // Ten republications of the page (every 50 ms) later, still once each.
            usleep(500_000)
            #expect(daemon.lines(containing: "(DISRUPTION_SOON)").count == 1, "\(daemon.log)")
            #expect(daemon.lines(containing: "(DISRUPTION_IMMINENT)").count == 1, "\(daemon.log)")
            #expect(daemon.lines(containing: "live migration").count == 1, "\(daemon.log)")
            #expect(daemon.lines(containing: "snapshot restore").count == 1, "\(daemon.log)")
            #expect(daemon.lines(containing: "disruption:").count == 2, "the flags are not a disruption:\n\(daemon.log)")
        }

        // MARK: 9. step after a disruption

        @Test(arguments: [true, false])
        func bigStepAfterADisruptionAsksChronydToStep(stepAllowed: Bool) throws {
            // VMCK selectable: chronyd absorbs its offset into its own clock
            // model and "System time" shows the correction still to make.
            let rig = try Rig(
                chronyd: .selectable, relay: false,
                options: ["--settle-time", "0.5"] + (stepAllowed ? [] : ["--no-step"]))
            defer { rig.stop() }
            let chronyd = try #require(rig.chronyd)
            let daemon = rig.daemon
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            try #require(
                eventually(within: 15) { chronyd.tracking()?.referenceIDHex == "564D434B" },
                "VMCK never selected:\n\(rig.report)\n\(chronyd.log)")

            // The VM lands 3 s ahead.
            try rig.simulator.send("disrupt step_ns=3000000000")
            try #require(daemon.waitForLog(containing: "chronyd acknowledged 'reset sources'", within: 3) != nil, "\(rig.report)")
            try #require(daemon.waitForLog(containing: "→ tracking", occurrence: 2, within: 5) != nil, "\(rig.report)")

            if stepAllowed {
                // Once chronyd has a reference from after the resume, with 3 s
                // still to correct (> --step-threshold 0.5 s), the daemon asks.
                let asked = try #require(
                    daemon.waitForLog(containing: "asking chronyd to step the clock: ", within: 15),
                    "no step requested:\n\(rig.report)\n\(chronyd.log)")
                let text = asked.components(separatedBy: "step the clock: ").last?.split(separator: " ").first
                let correction = try #require(text.flatMap { Double($0) }, "\(asked)")
                #expect(abs(correction - 3.0) <= 0.01, "\(asked)")
                // Under -x chronyd cannot step: status "failed" …
                let refused = daemon.waitForLog(containing: "chronyd 'makestep' failed", within: 2)
                #expect(refused?.contains("chronyd refused 'makestep': failed") == true, "\(rig.report)")
                // … but it has cancelled the correction it was slewing. Its
                // next reference update (≥ 0.75 s later: it updates once a
                // second at poll 0, and the request followed the update by
                // at most one sample interval) absorbs the 3 s again, so look
                // at once; seeing an update whose last offset is the whole
                // −3 s again is the same proof after the fact.
                var rows: [TrackingRow] = []
                let dropped = eventually(within: 3, every: 0.01) {
                    guard let row = chronyd.tracking() else { return false }
                    rows.append(row)
                    if abs(row.systemTimeSeconds) < 1e-3 { return true }
                    return rows.count > 1 && row.referenceTime != rows[0].referenceTime
                        && abs(row.lastOffsetSeconds + 3.0) < 0.01
                }
                #expect(dropped, "chronyd's correction never dropped: \(rows)")
                measured("step: asked with \(correction) s to correct; \(rows.count) tracking rows until the drop was seen: \(rows.last.map { "system time \($0.systemTimeSeconds) s, last offset \($0.lastOffsetSeconds) s" } ?? "none")")
                #expect(chronyd.log.contains("Could not step system clock"), "\(chronyd.log)")
                #expect(daemon.lines(containing: "asking chronyd to step").count == 1, "\(daemon.log)")
            } else {
                // chronyd absorbs the 3 s and slews; two more reference
                // updates give the daemon every chance to ask, and it does not.
                var first: TrackingRow?
                let absorbed = eventually(within: 15) {
                    guard let row = chronyd.tracking(), abs(row.systemTimeSeconds - 3.0) < 0.01 else { return false }
                    first = row
                    return true
                }
                try #require(absorbed, "\(rig.report)\n\(chronyd.log)")
                var updates = Set([first!.referenceTime])
                let later = eventually(within: 6) {
                    if let row = chronyd.tracking() { updates.insert(row.referenceTime) }
                    return updates.count >= 3
                }
                #expect(later)
                #expect(daemon.lines(containing: "asking chronyd to step").isEmpty, "\(daemon.log)")
                #expect(daemon.lines(containing: "makestep").isEmpty, "\(daemon.log)")
                let still = try #require(chronyd.tracking())
                #expect(abs(still.systemTimeSeconds - 3.0) < 0.01, "correction \(still.systemTimeSeconds) s")
                #expect(!chronyd.log.contains("Could not step system clock"))
            }
        }
    }
}

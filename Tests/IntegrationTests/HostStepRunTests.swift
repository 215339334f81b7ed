import Foundation
import TestSupport
import PeerHarness
import Testing

extension LiveDevice {
    /// vmclock-sim steps its time without changing the marker, against a
    /// real chronyd. Its page gives 10 µs of max error, so two versions of it
    /// may disagree by about 20 µs: 5 µs is a host correcting itself, 200 µs
    /// a host breaking its promise.
    @Suite(.enabled(if: ChronyProcess.isAvailable, "needs root and /usr/sbin/chronyd"))
    struct HostStepRun {
        @Test func aStepWithinTheBoundsIsFollowedOneBeyondThemResetsChronydOnce() throws {
            let rig = try Rig(chronyd: .selectable, relay: false, interval: 0.0625)
            defer { rig.stop() }
            let daemon = rig.daemon
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")

            // Within the bounds: followed, nothing reset. Judged once samples
            // from well after the step (1 s: 16 looks at the new page) were sent.
            let small = try publishedNanoseconds(rig.simulator.send("step step_ns=5000"))
            let followed = try #require(published(rig) { ($0.state?.lastSample?.at ?? 0) > Int(small) + 1_000_000_000 }, "\(rig.report)")
            var state = try #require(followed.state)
            #expect(state.state == "tracking" && state.hostSteps == 0 && state.reset == nil, "\(rig.report)")
            #expect(daemon.lines(containing: "stepped its time").isEmpty)

            // Beyond them: one host step, one reset, acknowledged, and tracking on the new page.
            let large = try publishedNanoseconds(rig.simulator.send("step step_ns=200000"))
            let resumed = try #require(published(rig) {
                $0.state?.reset?.acknowledged == true && $0.state?.state == "tracking"
                    && ($0.state?.lastSample?.at ?? 0) > ($0.state?.reset?.acknowledgedAt ?? .max)
            }, "\(rig.report)")
            state = try #require(resumed.state)
            #expect(state.hostSteps == 1)
            #expect(state.disruptionsTotal == 0, "no disruption: the marker did not change")
            #expect(state.reset?.disruption == 1 && (state.reset?.requested ?? 0) >= Int(large))
            let logged = daemon.lines(containing: "the host stepped its time by ")
            #expect(logged.count == 1, "\(rig.report)")
            let step = try #require(logged.first.flatMap(Self.stepNanoseconds))
            #expect(abs(step - 200_000) < 20_000, "the step as logged: \(step) ns")
            #expect(daemon.lines(containing: "chronyd acknowledged 'reset sources'").count == 1, "\(rig.report)")
            let sample = try #require(state.lastSample)
            #expect(abs(sample.offset - 205_000) <= sample.bound, "samples follow the new page: \(sample.offset) ± \(sample.bound) ns")
            let metrics = try parseMetrics(String(contentsOfFile: daemon.metricsFilePath, encoding: .utf8))
            #expect(metrics["vmclockd_host_steps_total"] == 1)
            #expect(metrics["vmclockd_chronyd_reset_pending"] == 0)
        }

        /// "the host stepped its time by 200013 ns under …" → 200013.
        static func stepNanoseconds(_ line: String) -> Int? {
            guard let range = line.range(of: "stepped its time by ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0 == "-" || $0.isNumber })
        }
    }
}

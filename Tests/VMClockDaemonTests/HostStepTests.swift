import Testing
import DaemonCore
import VMClockPage
import VMClockSimulation

/// The host steps its time without changing the disruption marker. The
/// scenario's page says 10 µs max error (and 0.1 ppm of its 10 ms age), so
/// two versions of it may disagree by up to about 20 µs.
@Suite struct HostSteps {
    @Test func aStepBeyondBothBoundsHoldsResetsChronydAndResumesOnTheNewPage() throws {
        var s = Scenario()
        s.startTracking()
        let span = s.core.calibration.spanNanoseconds
        s.chronydAcknowledges = false
        s.hostOffsetNanoseconds = 50_000
        let effects = s.run(milliseconds: 10)
        let step = try #require(effects.hostSteps.first)
        #expect(effects.hostSteps.count == 1)
        #expect((49_999...50_000).contains(step.stepNanoseconds), "\(step)")
        // 10 µs, and 1 ppm (the floor under the page's 0.1 ppm) of the 10 ms since its anchor.
        #expect((10_010...10_011).contains(step.oldBoundNanoseconds), "\(step)")
        #expect(step.newBoundNanoseconds == 10_000)
        #expect(effects.disruptions.isEmpty, "the marker did not change: no disruption")
        #expect(s.core.resetOwed == 1)
        #expect(s.state == .holding(.resetPending))
        #expect(s.core.sample == nil)
        #expect(s.core.calibration.spanNanoseconds > span, "the counter's calibration is kept")
        s.run(milliseconds: 1_000)
        #expect(s.history.hostSteps.count == 1, "the new page is followed, not stepped again")
        #expect(s.state == .holding(.resetPending))
        s.core.resetAcknowledged(disruption: 1, now: s.now)
        s.run(milliseconds: 10)
        #expect(s.state == .tracking)
        let offset = try #require(s.core.sample).offsetNanoseconds
        #expect((49_999...50_001).contains(offset), "samples follow the new page: \(offset) ns")
    }

    @Test(arguments: [15_000, -15_000] as [Int64])
    func aStepWithinTheBoundsIsSimplyFollowed(step: Int64) throws {
        var s = Scenario()
        s.startTracking()
        s.chronydAcknowledges = false
        s.hostOffsetNanoseconds = step
        s.run(milliseconds: 100)
        #expect(s.history.hostSteps.isEmpty)
        #expect(s.core.resetOwed == nil)
        #expect(s.state == .tracking)
        let offset = try #require(s.core.sample).offsetNanoseconds
        #expect(abs(offset - Int128(step)) <= 1)
    }

    @Test func aBackwardStepCountsToo() throws {
        var s = Scenario()
        s.startTracking()
        s.hostOffsetNanoseconds = -1_000_000_000
        let step = try #require(s.run(milliseconds: 10).hostSteps.first)
        #expect((-1_000_000_000 ... -999_999_999).contains(step.stepNanoseconds), "\(step)")
    }

    /// A step that comes with a new marker is a disruption (which resets
    /// chronyd anyway), not a broken promise.
    @Test func aStepWithANewMarkerIsADisruptionNotAHostStep() {
        var s = Scenario()
        s.startTracking()
        s.image.disruptionMarker += 1
        s.hostOffsetNanoseconds = 1_000_000_000
        let effects = s.run(milliseconds: 10)
        #expect(effects.disruptions == [.migration])
        #expect(effects.hostSteps.isEmpty)
        #expect(s.history.hostSteps.isEmpty)
    }

    /// Without a max error the host promised nothing: an estimate is no
    /// bound, and nothing is reset however far the time moves.
    @Test func aPageWithoutAMaxErrorMakesNoPromiseToBreak() {
        var s = Scenario { $0.allowEstimatedError = true }
        s.image.flags &= ~PageFlags.timeMaxerrorValid.rawValue
        s.startTracking()
        #expect(s.state == .tracking)
        s.hostOffsetNanoseconds = 1_000_000_000
        s.run(milliseconds: 100)
        #expect(s.history.hostSteps.isEmpty)
        #expect(s.core.resetOwed == nil)
    }
}

@Suite struct SimulatedHostSteps {
    /// vmclock-sim's `step`: the time moves, the marker stays (unlike `disrupt step_ns=`).
    @Test func aStepMovesTheTimeAndKeepsTheMarker() throws {
        var host = SimulatedHost(settings: SimulationSettings())
        let marker = host.disruptionMarker
        guard case .step(let nanoseconds) = try SimulatorCommand(line: "step step_ns=-2500") else {
            Issue.record("not a step")
            return
        }
        host.step(nanoseconds: nanoseconds)
        #expect(host.disruptionMarker == marker)
        #expect(host.settings.offsetNanoseconds == -2500)
        #expect(throws: CommandError.self) { try SimulatorCommand(line: "step") }
    }
}

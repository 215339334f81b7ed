import Testing
import VMClockAccess
import VMClockDaemon
import VMClockPage

@Suite struct StartingUp {
    @Test func startsHoldingWhileCalibratingThenSettlesThenTracks() {
        var s = Scenario()
        s.look()
        #expect(s.state == .holding(.calibrating))
        s.run(milliseconds: 1_000)
        #expect(s.state == .holding(.settling))
        s.run(milliseconds: 1_900)
        #expect(s.state == .holding(.settling))
        s.run(milliseconds: 200)
        #expect(s.state == .tracking)
        #expect(s.history.loggedStates == [.holding(.calibrating), .holding(.settling), .tracking])
        #expect(s.history.resets == 0)
    }

    @Test func aPageWithoutClockDataIsDisruptionOnlyAndNeverTracks() {
        var s = Scenario()
        s.image.counterID = CounterID.invalid.rawValue
        s.run(milliseconds: 5_000)
        #expect(s.state == .disruptionOnly)
        #expect(!s.history.loggedStates.contains(.tracking))
    }
}

@Suite struct Disruptions {
    @Test func markerChangeDropsCalibrationResetsChronyAndHolds() {
        var s = Scenario()
        s.startTracking()
        #expect(s.core.calibration.isReady)
        s.image.disruptionMarker += 1
        let effects = s.run(milliseconds: 10)
        #expect(effects.disruptions == [.migration])
        #expect(effects.resets == 1)
        #expect(effects.contains(.burstChronySources))
        #expect(s.state == .holding(.calibrating))
        #expect(!s.core.calibration.isReady)
        #expect(s.core.stepPending)
    }

    @Test func resumesOnlyAfterFreshCalibrationAndTheSettleTime() {
        var s = Scenario { $0.settleTime = 2 }
        s.startTracking()
        s.image.disruptionMarker += 1
        s.run(milliseconds: 2_900)
        #expect(s.state == .holding(.settling))
        s.run(milliseconds: 200)
        #expect(s.state == .tracking)
    }

    @Test func eachKindOfChangeIsNamed() {
        let changes: [(DisruptionKind, (inout Scenario) -> Void)] = [
            (.snapshotRestore, { $0.image.vmGenerationCounter += 1; $0.image.disruptionMarker += 1 }),
            (.counterChanged, { $0.image.counterID = CounterID.invalid.rawValue }),
            (.pageReinitialised, { $0.image.size = 112 }),
        ]
        for (kind, change) in changes {
            var s = Scenario()
            s.startTracking()
            change(&s)
            #expect(s.run(milliseconds: 10).disruptions == [kind])
        }
    }

    @Test func seqCountChangesAloneAreNotDisruptions() {
        var s = Scenario()
        s.startTracking()
        s.image.counterPeriodFracSec = Scenario.period(ppm: 0.5)  // the host slews its period
        s.run(milliseconds: 2_000)
        #expect(s.history.resets == 0)
        #expect(s.state == .tracking)
    }

    @Test func deviceGoneIsOneDisruptionAndReturningUnchangedIsNotAnother() {
        var s = Scenario()
        s.startTracking()
        for _ in 0..<5 { s.feed(.unavailable(.absent(path: "/dev/vmclock0"))) }
        #expect(s.history.resets == 1)
        #expect(s.history.disruptions == [.deviceGone])
        if case .holding(.deviceUnavailable) = s.state {} else { Issue.record("state \(s.state)") }
        s.run(milliseconds: 10)
        #expect(s.history.resets == 1)
        s.image.disruptionMarker += 1
        s.run(milliseconds: 10)
        #expect(s.history.resets == 2)
    }

    @Test func invalidPageCountsAsDeviceGone() {
        var s = Scenario()
        s.startTracking()
        s.image.magic = 0
        s.run(milliseconds: 20)
        #expect(s.history.disruptions == [.deviceGone])
        if case .holding(.pageInvalid) = s.state {} else { Issue.record("state \(s.state)") }
    }

    @Test func disruptionOnlyPagesResetChronyOnEveryMarkerChange() {
        var s = Scenario()
        s.image.counterID = CounterID.invalid.rawValue
        s.run(milliseconds: 100)
        for _ in 0..<3 {
            s.image.disruptionMarker += 1
            s.run(milliseconds: 100)
        }
        #expect(s.history.resets == 3)
        #expect(s.state == .disruptionOnly)
        #expect(!s.core.stepPending)
    }

    @Test func maintenanceFlagsAreAnnouncedOnceEach() {
        var s = Scenario()
        s.startTracking()
        s.image.flags |= PageFlags.disruptionSoon.rawValue
        s.run(milliseconds: 500)
        s.image.flags |= PageFlags.disruptionImminent.rawValue
        s.run(milliseconds: 500)
        let announcements = s.history.filter { if case .log(.maintenanceAnnounced) = $0 { true } else { false } }
        #expect(announcements == [.log(.maintenanceAnnounced(.disruptionSoon)), .log(.maintenanceAnnounced(.disruptionImminent))])
        #expect(s.state == .tracking)
    }
}

@Suite struct Gating {
    @Test(arguments: [ClockStatus.unknown, .initializing, .unreliable])
    func hostThatDoesNotVouchIsHeld(_ status: ClockStatus) {
        var s = Scenario()
        s.startTracking()
        s.image.clockStatus = status.rawValue
        s.run(milliseconds: 10)
        #expect(s.state == .holding(.clockStatus(status)))
    }

    @Test func freerunningIsFineWhileItsBoundPasses() {
        var s = Scenario { $0.maxError = 0.001 }
        s.startTracking()
        s.image.clockStatus = ClockStatus.freerunning.rawValue
        s.run(milliseconds: 10)
        #expect(s.state == .tracking)
        s.image.timeMaxerrorNanosec = 2_000_000
        s.run(milliseconds: 10)
        if case .holding(.boundAbovePromise) = s.state {} else { Issue.record("state \(s.state)") }
    }

    @Test func boundAboveThePromiseHoldsAndBelowResumesAtOnce() {
        var s = Scenario { $0.maxError = 0.0001 }
        s.startTracking()
        s.image.timeMaxerrorNanosec = 200_000
        s.run(milliseconds: 10)
        #expect(s.state == .holding(.boundAbovePromise(boundNanoseconds: 200_000, promiseNanoseconds: 100_000)))
        s.image.timeMaxerrorNanosec = 10_000
        s.run(milliseconds: 10)
        #expect(s.state == .tracking)
    }

    @Test func withoutAMaximumErrorOnlyTheOperatorCanAllowTheEstimate() {
        for allow in [false, true] {
            var s = Scenario { $0.allowEstimatedError = allow }
            s.image.flags &= ~PageFlags.timeMaxerrorValid.rawValue
            s.startTracking()
            #expect(s.state == (allow ? .tracking : .holding(.noErrorBound)))
        }
    }

    @Test func wrongPeriodIsHeld() {
        var s = Scenario { $0.periodTolerancePPM = 500 }
        s.image.counterPeriodFracSec = Scenario.period(ppm: 2_000)
        s.startTracking()
        guard case .holding(.periodDisagrees(let ppm, _)) = s.state else {
            Issue.record("state \(s.state)")
            return
        }
        #expect(abs(ppm - 2_000) < 1)
    }

    @Test func foreignCounterGivesNoTime() {
        var s = Scenario()
        s.image.counterID = CounterID.arm64VirtualCounter.rawValue
        s.run(milliseconds: 4_000)
        guard case .holding(.noTime(let why)) = s.state else {
            Issue.record("state \(s.state)")
            return
        }
        #expect(why.contains("counter_id is 0"))
    }

    @Test func briefBusyIsToleratedLongBusyHolds() {
        var s = Scenario()
        s.startTracking()
        for _ in 0..<9 {
            s.now += 10_000_000
            s.feed(.busy)
        }
        #expect(s.state == .tracking)
        s.now += 20_000_000
        s.feed(.busy)
        #expect(s.state == .holding(.busy))
        s.run(milliseconds: 10)
        #expect(s.state == .tracking)
        #expect(s.history.resets == 0)
    }
}

@Suite struct SteppingAfterADisruption {
    func resumedAfterDisruption(_ configure: (inout DaemonConfiguration) -> Void = { _ in }) -> Scenario {
        var s = Scenario(configure)
        s.startTracking()
        s.image.disruptionMarker += 1
        s.run(milliseconds: 3_500)
        return s
    }

    @Test func stepsWhenChronydsFreshCorrectionIsLarge() {
        var s = resumedAfterDisruption()
        #expect(s.core.wantsTracking)
        s.run(milliseconds: 2_000)
        let effects = s.core.tracking(correctionSeconds: -7.0, referenceAgeSeconds: 0.5, now: s.now)
        #expect(effects == [.makeStep(correctionSeconds: -7.0)])
        #expect(!s.core.wantsTracking)
    }

    @Test func waitsForAReferenceUpdatedAfterResuming() {
        var s = resumedAfterDisruption()
        s.run(milliseconds: 1_000)
        #expect(s.core.tracking(correctionSeconds: 7.0, referenceAgeSeconds: 30, now: s.now).isEmpty)
        #expect(s.core.wantsTracking)
    }

    @Test func smallCorrectionsAreLeftToSlew() {
        var s = resumedAfterDisruption()
        s.run(milliseconds: 2_000)
        #expect(s.core.tracking(correctionSeconds: 0.2, referenceAgeSeconds: 0.5, now: s.now).isEmpty)
        #expect(!s.core.wantsTracking)
    }

    @Test func givesUpOnAChronydThatNeverAnswers() {
        var s = resumedAfterDisruption()
        s.run(milliseconds: 119_000)
        #expect(s.core.wantsTracking)
        s.run(milliseconds: 2_000)
        #expect(!s.core.wantsTracking)
        #expect(s.history.contains { if case .log(.stepSkipped) = $0 { true } else { false } })
    }

    @Test func neverStepsWhenSwitchedOff() {
        var s = resumedAfterDisruption { $0.stepThreshold = nil }
        #expect(!s.core.wantsTracking)
        #expect(s.core.tracking(correctionSeconds: 7.0, referenceAgeSeconds: 0.5, now: s.now).isEmpty)
    }
}

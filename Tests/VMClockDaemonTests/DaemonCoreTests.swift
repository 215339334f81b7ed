import Testing
import VMClockAccess
import DaemonCore
import DaemonLoop
import VMClockPage
#if canImport(Glibc)
import Glibc
#endif

@Suite struct StartingUp {
    @Test func startsHoldingWhileTheRateIsMeasuredThenTracksWithoutSettling() {
        var s = Scenario()
        s.look()
        #expect(s.state == .holding(.calibrating))
        #expect(s.core.sample == nil)
        s.run(milliseconds: 10)
        #expect(s.state == .holding(.calibrating))
        s.run(milliseconds: 10)
        #expect(s.state == .tracking)
        #expect(s.core.sample != nil)
        #expect(s.history.loggedStates == [.holding(.calibrating), .tracking])
        #expect(s.acknowledgedResets == 0)
    }

    @Test func aPageWithoutClockDataIsDisruptionOnlyAndNeverTracks() {
        var s = Scenario()
        s.image.counterID = CounterID.invalid.rawValue
        s.run(milliseconds: 5_000)
        #expect(s.state == .disruptionOnly)
        #expect(!s.history.loggedStates.contains(.tracking))
    }
}

@Suite struct Restarts {
    func identity(_ s: Scenario) -> PageIdentity {
        PageIdentity(disruptionMarker: s.image.disruptionMarker, vmGenerationCounter: s.image.vmGenerationCounter,
                     counterID: s.image.counterID, size: s.image.size, version: s.image.version)
    }

    @Test func aChangeFoundAtStartIsADisruptionWhileAway() {
        var before = Scenario()
        before.startTracking()
        let left = try! #require(before.core.confirmedIdentity)
        var s = Scenario(remembered: left)
        s.chronydAcknowledges = false
        s.image.disruptionMarker += 1
        s.run(milliseconds: 100)
        #expect(s.history.disruptions == [.migration])
        #expect(s.history.disruptionsWhileAway == [true])
        #expect(s.state == .holding(.resetPending))
        #expect(s.core.confirmedIdentity == nil)  // not kept until chronyd is reset
        s.core.resetAcknowledged(disruption: 1, now: s.now)
        s.run(milliseconds: 10)
        #expect(s.state == .tracking)
        #expect(s.core.confirmedIdentity == identity(s))
    }

    @Test func anUnchangedPageAtStartIsNoDisruption() {
        var before = Scenario()
        before.startTracking()
        var s = Scenario(remembered: before.core.confirmedIdentity)
        s.startTracking()
        #expect(s.history.disruptions.isEmpty)
        #expect(s.state == .tracking)
    }

    @Test func aDeviceNotThereYetAtStartIsNoDisruption() {
        var before = Scenario()
        before.startTracking()
        var s = Scenario(remembered: before.core.confirmedIdentity)
        s.feed(.unavailable(.absent(path: "/dev/vmclock0")))
        s.startTracking()
        #expect(s.history.disruptions.isEmpty)
        #expect(s.state == .tracking)
    }

    @Test func theIdentityLineRoundTripsAndNothingElseParses() throws {
        var s = Scenario()
        s.startTracking()
        let kept = try #require(s.core.confirmedIdentity)
        let store = IdentityStore(path: "/tmp/vmclockd-identity-test-\(getpid())")
        defer { unlink(store.path) }
        #expect(store.load() == nil)
        #expect(throws: Never.self) { try store.save(kept) }
        #expect(store.load() == kept)
        for junk in ["", "vmclockd-identity 2 marker=1", "marker=41 generation=7", "vmclockd-identity 1 marker=x generation=- counter_id=1 size=112 version=1"] {
            _ = junk.withCString { write(open(store.path, O_WRONLY | O_TRUNC), $0, strlen($0)) }
            #expect(store.load() == nil, "\(junk)")
        }
    }
}

@Suite struct Disruptions {
    @Test func markerChangeDropsCalibrationAndHoldsUntilChronydAcknowledgesTheReset() {
        var s = Scenario()
        s.startTracking()
        s.chronydAcknowledges = false
        s.image.disruptionMarker += 1
        let effects = s.run(milliseconds: 10)
        #expect(effects.disruptions == [.migration])
        #expect(s.core.resetOwed == 1)
        #expect(s.state == .holding(.calibrating))
        #expect(s.core.calibration.spanNanoseconds == 0)
        #expect(s.core.stepPending)
        s.run(milliseconds: 5_000)
        #expect(s.state == .holding(.resetPending))
        #expect(s.core.sample == nil)
        s.core.resetAcknowledged(disruption: 1, now: s.now)
        s.run(milliseconds: 10)
        #expect(s.state == .tracking)
    }

    /// The later one a disruption too, or a host step (its time moved
    /// beyond its bounds, same marker): resets are numbered together.
    @Test(arguments: [false, true])
    func aResetForAnEarlierDisruptionDoesNotCoverALaterOne(laterIsAHostStep: Bool) {
        var s = Scenario()
        s.startTracking()
        s.chronydAcknowledges = false
        s.image.disruptionMarker += 1
        s.run(milliseconds: 10)
        if laterIsAHostStep { s.hostOffsetNanoseconds = 100_000 } else { s.image.disruptionMarker += 1 }
        s.run(milliseconds: 100)
        #expect(s.history.hostSteps.count == (laterIsAHostStep ? 1 : 0))
        #expect(s.core.resetOwed == 2)
        s.core.resetAcknowledged(disruption: 1, now: s.now)
        s.run(milliseconds: 10)
        #expect(s.state == .holding(.resetPending))
        s.core.resetAcknowledged(disruption: 2, now: s.now)
        s.run(milliseconds: 10)
        #expect(s.state == .tracking)
    }

    @Test func resumesOnlyAfterTheSettleTimeWhenOneIsSet() {
        var s = Scenario { $0.settleTime = 2 }
        s.startTracking()
        s.image.disruptionMarker += 1
        s.run(milliseconds: 1_900)
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
        #expect(s.history.disruptions.isEmpty)
        #expect(s.state == .tracking)
    }

    @Test func deviceGoneIsOneDisruptionAndReturningUnchangedIsNotAnother() {
        var s = Scenario()
        s.startTracking()
        for _ in 0..<5 { s.feed(.unavailable(.absent(path: "/dev/vmclock0"))) }
        #expect(s.acknowledgedResets == 1)
        #expect(s.history.disruptions == [.deviceGone])
        if case .holding(.deviceUnavailable) = s.state {} else { Issue.record("state \(s.state)") }
        s.run(milliseconds: 10)
        #expect(s.acknowledgedResets == 1)
        s.image.disruptionMarker += 1
        s.run(milliseconds: 20)
        #expect(s.acknowledgedResets == 2)
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
        #expect(s.history.disruptions.count == 3)
        #expect(s.acknowledgedResets == 3)
        #expect(s.state == .disruptionOnly)
        // The last one's aftermath is still to be checked (chronyd's NTP sources).
        #expect(s.core.stepPending)
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
        // The page's 200 µs (just re-anchored) plus the read: the counter may be
        // ⌈40/2⌉ + 1 = 21 ticks of 1 ns from the midpoint, and the midpoint's
        // time is floored to 2^-64 s (21.00000000005 → 22), plus 1 ppm of
        // those 21 ns (→ 1).
        guard case .holding(.boundAbovePromise(let bound, 100_000)) = s.state, bound == 200_023 else {
            Issue.record("state \(s.state)")
            return
        }
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
        guard case .holding(.noTime(let why?)) = s.state else {
            Issue.record("state \(s.state)")
            return
        }
        #expect(why.description.contains("counter_id is 0"))
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
        #expect(s.acknowledgedResets == 0)
    }

    /// One gate: the state is judged on the sample's own bound (page plus
    /// read), so "tracking" always comes with a sample.
    @Test func theStateAndTheSampleAreJudgedOnOneBound() {
        var s = Scenario { $0.maxError = 0.000_011 }  // 11 µs; the page says 10 µs
        s.bracketHalfWidth = 2_000  // ±2 µs read: 12 µs in all
        s.startTracking()
        guard case .holding(.boundAbovePromise(let bound, _)) = s.state else {
            Issue.record("state \(s.state)")
            return
        }
        #expect(bound > 11_000)
        #expect(s.core.sample == nil)
        s.bracketHalfWidth = 50
        s.run(milliseconds: 10)
        #expect(s.state == .tracking)
        #expect(try! #require(s.core.sample).boundNanoseconds <= 11_000)
    }

    /// A host that stops updating while claiming a perfect period: the bound
    /// still grows at 1 ppm of the page's age (10 s: 10 µs).
    @Test func aStalePagesBoundGrowsAtOnePPM() {
        var s = Scenario { $0.maxError = 0.000_015 }
        s.image.counterPeriodMaxerrorRateFracSec = 0
        s.startTracking()
        let anchor = s.image.counterValue
        for _ in 0..<100 {
            s.now += 100_000_000
            s.look()
        }
        let age = Double(s.counter - anchor) * 1e-9  // seconds, 1 ns ticks
        guard case .holding(.boundAbovePromise(let bound, _)) = s.state else {
            Issue.record("state \(s.state)")
            return
        }
        // 10 µs of the page + 1e-6 · age + the read (20 ns): never less.
        #expect(Double(bound) >= 10_000 + age * 1e3 + 20)
        #expect(Double(bound) <= 10_000 + age * 1e3 + 40)
    }
}

/// A restored or migrated guest's clock can be seconds off, with or without
/// clock data in the page (today's hosts have none: packaging/vm-test saw a
/// real file migration leave the clock 3.4 s behind, slewed in over 40 s
/// without a step). chronyd measures it after the reset: by vmclockd's
/// samples once they resume, or by its NTP sources once the reset is
/// acknowledged.
@Suite struct SteppingAfterADisruption {
    enum Page: CaseIterable { case clockData, noClockData }

    func disrupted(_ page: Page, acknowledged: Bool = true, _ configure: (inout DaemonConfiguration) -> Void = { _ in }) -> Scenario {
        var s = Scenario(configure)
        switch page {
        case .clockData: s.startTracking()
        case .noClockData:
            s.image.counterID = CounterID.invalid.rawValue
            s.run(milliseconds: 100)
        }
        s.chronydAcknowledges = acknowledged
        s.image.disruptionMarker += 1
        s.run(milliseconds: 100)
        return s
    }

    @Test(arguments: Page.allCases) func stepsWhenChronydsFreshCorrectionIsLarge(page: Page) {
        var s = disrupted(page)
        #expect(s.core.wantsTracking)
        s.run(milliseconds: 2_000)
        let effects = s.core.tracking(correctionSeconds: -7.0, referenceAgeSeconds: 0.5, synchronised: true, now: s.now)
        #expect(effects == [.makeStep(correctionSeconds: -7.0)])
        #expect(!s.core.wantsTracking)
    }

    @Test(arguments: Page.allCases) func waitsForAReferenceUpdatedSinceMeasurementsBegan(page: Page) {
        var s = disrupted(page)
        s.run(milliseconds: 1_000)
        // Updated 30 s ago: before the disruption, on the old host.
        #expect(s.core.tracking(correctionSeconds: 7.0, referenceAgeSeconds: 30, synchronised: true, now: s.now).isEmpty)
        #expect(s.core.wantsTracking)
    }

    @Test(arguments: Page.allCases) func nothingIsAskedWhileTheResetIsOwed(page: Page) {
        let s = disrupted(page, acknowledged: false)
        #expect(s.core.resetOwed != nil)
        #expect(!s.core.wantsTracking)
    }

    @Test(arguments: Page.allCases) func smallCorrectionsAreLeftToSlew(page: Page) {
        var s = disrupted(page)
        s.run(milliseconds: 2_000)
        #expect(s.core.tracking(correctionSeconds: 0.2, referenceAgeSeconds: 0.5, synchronised: true, now: s.now).isEmpty)
        #expect(!s.core.wantsTracking)
    }

    @Test(arguments: Page.allCases) func givesUpOnAChronydThatNeverAnswers(page: Page) {
        var s = disrupted(page)
        s.run(milliseconds: 119_000)
        #expect(s.core.wantsTracking)
        s.run(milliseconds: 2_000)
        #expect(!s.core.wantsTracking)
        #expect(s.history.contains { if case .log(.stepSkipped) = $0 { true } else { false } })
    }

    @Test(arguments: Page.allCases) func neverStepsWhenSwitchedOff(page: Page) {
        var s = disrupted(page) { $0.stepThreshold = nil }
        #expect(!s.core.wantsTracking && !s.core.stepPending)
        #expect(s.core.tracking(correctionSeconds: 7.0, referenceAgeSeconds: 0.5, synchronised: true, now: s.now).isEmpty)
    }
}

/// No identity from an earlier run (the first start in a boot, a purge and
/// reinstall, `systemctl clean`, `--state-file none`): a migration while
/// vmclockd was stopped leaves nothing to compare against, so chronyd's
/// tracking report decides whether it is reset once.
@Suite struct StartWithoutAStoredIdentity {
    @Test func aSynchronisedChronydIsResetOnce() {
        var s = Scenario()
        s.chronydAcknowledges = false
        s.startTracking()
        #expect(s.core.isVerifyingStart && s.core.wantsTracking)
        let effects = s.core.tracking(correctionSeconds: 0, referenceAgeSeconds: 1, synchronised: true, now: s.now)
        #expect(effects.disruptions == [.unverifiedStart])
        #expect(effects.disruptionsWhileAway == [true])
        #expect(s.core.resetOwed == 1 && s.core.resetsAsked == 1)
        #expect(!s.core.isVerifyingStart)
        s.run(milliseconds: 100)
        #expect(s.state.holdReason != nil, "no sample until chronyd has dropped what it held")
        s.chronydAcknowledges = true
        s.run(milliseconds: 3_000)
        #expect(s.state == .tracking)
        #expect(s.acknowledgedResets == 1)
        #expect((effects + s.history).disruptions == [.unverifiedStart], "once, not at every look")
    }

    @Test func aChronydThatIsNotSynchronisedIsNotReset() {
        var s = Scenario()
        s.startTracking()
        let effects = s.core.tracking(correctionSeconds: 0, referenceAgeSeconds: 1e9, synchronised: false, now: s.now)
        #expect(effects == [.log(.startVerified)])
        #expect(s.core.resetOwed == nil && !s.core.wantsTracking)
        s.run(milliseconds: 1_000)
        #expect(s.state == .tracking && s.history.disruptions.isEmpty)
    }

    @Test func anIdentityFromAnEarlierRunIsNotAskedAbout() {
        var first = Scenario()
        first.run(milliseconds: 10)
        let stored = first.core.confirmedIdentity
        var s = Scenario(remembered: stored)
        s.startTracking()
        #expect(stored != nil && !s.core.isVerifyingStart && !s.core.wantsTracking)
        #expect(s.history.disruptions.isEmpty)
    }

    @Test func aDisruptionBeforeTheAnswerIsResetOnceForBoth() {
        var s = Scenario()
        s.startTracking()
        s.image.disruptionMarker += 1
        s.run(milliseconds: 100)
        #expect(!s.core.isVerifyingStart)
        _ = s.core.tracking(correctionSeconds: 0, referenceAgeSeconds: 1, synchronised: true, now: s.now)
        #expect(s.history.disruptions == [.migration])
    }

    @Test func aChronydThatNeverAnswersIsNotAskedForEver() {
        var s = Scenario()
        s.run(milliseconds: 119_000)
        #expect(s.core.isVerifyingStart)
        s.run(milliseconds: 2_000)
        #expect(!s.core.isVerifyingStart && !s.core.wantsTracking)
        #expect(s.history.contains(.log(.startUnverifiable)))
        #expect(s.history.disruptions.isEmpty && s.state == .tracking)
    }

    @Test func aPageWithoutClockDataIsVerifiedToo() {
        var s = Scenario()
        s.image.counterID = 0xff
        s.run(milliseconds: 100)
        #expect(s.state == .disruptionOnly && s.core.isVerifyingStart)
        let effects = s.core.tracking(correctionSeconds: 0, referenceAgeSeconds: 1, synchronised: true, now: s.now)
        #expect(effects.disruptions == [.unverifiedStart])
    }
}

import ChronyProtocol
import ClockBoundProtocol
import DaemonCore
import Testing
import TestSupport
import VMClockPage

/// What applications are told, row by row (README, "What applications are
/// told"), on the pure state machine and chronyd's tracking reports as
/// chronyd's own bytes.
@Suite struct ClockBoundJudgeTests {
    typealias M = ChronyReplyBytes

    /// Root delay 2^-10 s, root dispersion 2^-12 s, correction −2^-14 s,
    /// skew 2^-3 ppm, residual frequency −2^-4 ppm, update interval 2 s:
    /// each exact in chronyd's Float.
    static func report(synchronised: Bool = true, referenceAgo seconds: UInt64 = 1) -> TrackingReport {
        let bytes = M.tracking(
            referenceID: synchronised ? 0x564D_434B : 0, leap: synchronised ? 0 : 3, referenceSeconds: 1_800_000_000 - seconds,
            correction: M.float(coefficient: -(1 << 11), exponent: 0), residualFrequency: M.float(coefficient: -(1 << 21), exponent: 0),
            skew: M.float(coefficient: 1 << 22, exponent: 0), rootDelay: M.float(coefficient: 1 << 15, exponent: 0),
            rootDispersion: M.float(coefficient: 1 << 13, exponent: 0), updateInterval: M.float(coefficient: 1 << 24, exponent: 2))
        return ControlReply(bytes: M.reply(command: 33, type: 5, data: bytes))!.tracking!
    }

    /// 2^-11 + 2^-12 + 2^-14 s = 488 281.25 + 244 140.625 + 61 035.156 25 ns,
    /// rounded up, + 1 ns for the Double.
    static let chronydBound: Int64 = 793_459
    /// 0.1875 ppm rounded up to 188 ppb, + chronyd's maxclockerror 1000 ppb.
    static let chronydDrift: UInt32 = 1188
    /// 2^-14 s = 61 035.156 25 ns, rounded up, + 1.
    static let correction: Int64 = 61_037

    struct World {
        var s: Scenario
        var judge = ClockBoundJudge()

        init(_ s: Scenario) { self.s = s }

        /// A tracking report asked now, its reference updated `ago` ns before.
        mutating func chronyd(synchronised: Bool = true, referenceAge ago: Int64? = 1_000_000_000) {
            judge.chronyd(ChronydTracking(
                ClockBoundJudgeTests.report(synchronised: synchronised), askedAt: s.now, answeredAt: s.now,
                referenceAgeNanoseconds: ago))
        }

        mutating func run(milliseconds: Int64) {
            for effect in s.run(milliseconds: milliseconds) { if case .log(let event) = effect { judge.noticed(event) } }
        }

        mutating func verdict() -> ClockBoundVerdict { judge.verdict(core: s.core, lookedAt: s.now, now: s.now) }
    }

    @Test func unknownBeforeTheFirstLook() {
        var w = World(Scenario())
        w.chronyd()
        let v = w.verdict()
        #expect(v.status == .unknown && v.reason == .starting && !v.claimsBound)
    }

    @Test func aPageWithClockDataIsMeasuredAgainstThePage() {
        var s = Scenario()
        s.hostOffsetNanoseconds = 3_000_000  // the system clock is 3 ms behind the host
        var w = World(s)
        w.run(milliseconds: 100)
        #expect(w.s.state == .tracking)
        w.chronyd()
        let v = w.verdict()
        #expect(v.status == .synchronized && v.reason == .measured)
        // 3 ms + the page's 10 µs + chronyd's correction, and the read: under 100 ns.
        let floor: Int64 = 3_000_000 + 10_000 + Self.correction
        #expect(v.boundNanoseconds >= floor && v.boundNanoseconds < floor + 100, "\(v)")
        #expect(v.maxDriftPPB == Self.chronydDrift && v.disruptionMarker == 41 && v.disruptionSupport)
    }

    @Test func aPageWithoutClockDataTakesChronydsBoundWithClockBoundsFormula() {
        var s = Scenario()
        s.image.counterID = 0xff
        var w = World(s)
        w.run(milliseconds: 30)
        #expect(w.s.state == .disruptionOnly)
        w.chronyd()
        let v = w.verdict()
        #expect(v.status == .synchronized && v.reason == .chronyd)
        #expect(v.boundNanoseconds == Self.chronydBound && v.maxDriftPPB == Self.chronydDrift && v.at == w.s.now)
    }

    @Test func chronydUnsynchronisedStaleOrSilentIsNoSynchronized() {
        var s = Scenario()
        s.image.counterID = 0xff
        var w = World(s)
        w.run(milliseconds: 30)
        w.chronyd(synchronised: false)
        #expect(w.verdict().status == .unknown && w.verdict().reason == .chronydUnsynchronised)
        // 8 update intervals of 2 s, and a little more.
        w.chronyd(referenceAge: 16_100_000_000)
        let stale = w.verdict()
        #expect(stale.status == .freeRunning && stale.reason == .chronydStale && stale.boundNanoseconds == Self.chronydBound)
        w.chronyd()
        w.run(milliseconds: 3_010)
        #expect(w.verdict().status == .unknown && w.verdict().reason == .chronydUnreachable)
    }

    @Test func aMarkerChangeIsDisruptedUntilTrackingAgainWithClockData() {
        var w = World(Scenario())
        w.run(milliseconds: 100)
        w.s.chronydAcknowledges = false
        w.s.image.disruptionMarker += 1
        w.run(milliseconds: 10)
        w.chronyd()
        var v = w.verdict()
        #expect(v.status == .disrupted && v.reason == .resetOwed && v.disruptionMarker == 42 && !v.claimsBound)
        w.s.chronydAcknowledges = true
        w.run(milliseconds: 10)
        w.judge.resetAcknowledged(at: w.s.now)
        #expect(w.s.core.resetOwed == nil)
        w.chronyd()
        v = w.verdict()
        #expect(v.status == .disrupted && v.reason == .resyncOwed, "calibrating again: \(w.s.state)")
        w.run(milliseconds: 100)
        #expect(w.s.state == .tracking)
        w.chronyd()
        v = w.verdict()
        #expect(v.status == .synchronized && v.reason == .measured && v.disruptionMarker == 42)
    }

    @Test func withoutClockDataOnlyAReferenceUpdatedAfterTheAcknowledgementEndsIt() {
        var s = Scenario()
        s.image.counterID = 0xff
        s.chronydAcknowledges = false
        var w = World(s)
        w.run(milliseconds: 30)
        w.s.image.disruptionMarker += 1
        w.run(milliseconds: 10)
        w.chronyd()
        #expect(w.verdict().status == .disrupted && w.verdict().reason == .resetOwed)
        w.s.chronydAcknowledges = true
        w.run(milliseconds: 10)
        let acknowledged = w.s.now
        w.judge.resetAcknowledged(at: acknowledged)
        // chronyd still synchronised to a reference from before the reset.
        w.run(milliseconds: 500)
        w.chronyd(referenceAge: w.s.now - acknowledged + 1)
        #expect(w.verdict().status == .disrupted && w.verdict().reason == .resyncOwed)
        w.chronyd(synchronised: false, referenceAge: 0)
        #expect(w.verdict().status == .disrupted)
        // Updated after the acknowledgement: the disruption is over.
        w.chronyd(referenceAge: 100_000_000)
        let v = w.verdict()
        #expect(v.status == .synchronized && v.reason == .chronyd && v.disruptionMarker == 42)
        // A reference time ahead of the clock says nothing of when: it ends no disruption.
        w.s.image.disruptionMarker += 1
        w.run(milliseconds: 20)
        w.judge.resetAcknowledged(at: w.s.now)
        w.run(milliseconds: 20)
        w.chronyd(referenceAge: -5_000_000)
        #expect(w.verdict().status == .disrupted && w.verdict().reason == .resyncOwed)
        w.chronyd(referenceAge: 5_000_000)
        #expect(w.verdict().status == .synchronized)
        // And it stays over when the next report is older again.
        w.chronyd(referenceAge: w.s.now - acknowledged + 1)
        #expect(w.verdict().status == .synchronized)
    }

    @Test func theDeviceGoneIsDisruptedThenUnknownAndNoDeviceIsUnknown() {
        var s = Scenario()
        s.chronydAcknowledges = false
        var w = World(s)
        w.run(milliseconds: 100)
        for effect in w.s.feed(.unavailable(.absent(path: "/dev/vmclock0"))) { if case .log(let e) = effect { w.judge.noticed(e) } }
        w.chronyd()
        var v = w.verdict()
        #expect(v.status == .disrupted && v.reason == .resetOwed && !v.disruptionSupport)
        w.s.core.resetAcknowledged(disruption: w.s.core.resetOwed!, now: w.s.now)
        w.judge.resetAcknowledged(at: w.s.now)
        v = w.verdict()
        #expect(v.status == .unknown && v.reason == .noDevice && !v.disruptionSupport)

        var never = World(Scenario())
        never.s.feed(.unavailable(.absent(path: "/dev/vmclock0")))
        never.chronyd()
        #expect(never.verdict().status == .unknown && never.verdict().reason == .noDevice)
    }

    @Test func aHostStepIsDisrupted() {
        var s = Scenario()
        s.chronydAcknowledges = false
        var w = World(s)
        w.run(milliseconds: 100)
        w.s.hostOffsetNanoseconds = 5_000_000
        w.run(milliseconds: 10)
        #expect(!w.s.history.hostSteps.isEmpty)
        w.chronyd()
        #expect(w.verdict().status == .disrupted)
    }

    @Test func anUnverifiedStartIsUnknownUntilChronydResynchronises() {
        var s = Scenario()
        s.image.counterID = 0xff
        s.chronydAcknowledges = false
        var w = World(s)
        w.run(milliseconds: 30)
        let effects = w.s.core.tracking(correctionSeconds: 0, referenceAgeSeconds: 1, synchronised: true, now: w.s.now)
        for effect in effects { if case .log(let e) = effect { w.judge.noticed(e) } }
        #expect(effects.contains { if case .log(.disruption(.unverifiedStart, _, _, _, _)) = $0 { true } else { false } })
        w.chronyd()
        #expect(w.verdict().status == .unknown && w.verdict().reason == .unverifiedStart)
        w.s.core.resetAcknowledged(disruption: w.s.core.resetOwed!, now: w.s.now)
        w.judge.resetAcknowledged(at: w.s.now)
        w.run(milliseconds: 200)
        w.chronyd(referenceAge: 50_000_000)
        #expect(w.verdict().status == .synchronized)
    }

    @Test func theBoundGrowsAsClientsGrowItRoundedUp() {
        let v = ClockBoundVerdict(
            status: .synchronized, reason: .chronyd, boundNanoseconds: 1_000, at: 10_000_000_000, maxDriftPPB: 1_500,
            disruptionMarker: 9, disruptionSupport: true)
        // 2 s later plus a 4 ms coarse tick at 1.5 ppm: 3006 ns; + 1 for the clients' truncation.
        #expect(v.bound(atMonotonic: 12_000_000_000, coarseResolution: 4_000_000) == 1_000 + 3_006 + 1)
        // 1 ns of elapsed time at 1.5 ppm is still a whole ns.
        #expect(v.bound(atMonotonic: 10_000_000_001, coarseResolution: 0) == 1_002)
        let body = v.body(asOf: 11_999_000_000, now: 12_000_000_000, coarseResolution: 4_000_000)
        #expect(body.asOf == CoarseInstant(seconds: 11, nanoseconds: 999_000_000))
        #expect(body.voidAfter == CoarseInstant(seconds: 16, nanoseconds: 999_000_000))
        #expect(body.boundNanoseconds == 4_007 && body.maxDriftPPB == 1_500 && body.status == .synchronized)
        let unknown = ClockBoundVerdict.unknown(marker: 9, support: true).body(asOf: 5, now: 5, coarseResolution: 1)
        #expect(unknown.boundNanoseconds == 0 && unknown.maxDriftPPB == 0 && unknown.status == .unknown && unknown.disruptionMarker == 9)
    }
}

@Suite struct SegmentRefreshTests {
    static func verdict(_ status: SegmentStatus, bound: Int64 = 1_000, at: Int64 = 0, drift: UInt32 = 1_000) -> ClockBoundVerdict {
        .init(status: status, reason: .chronyd, boundNanoseconds: bound, at: at, maxDriftPPB: drift, disruptionMarker: 1,
              disruptionSupport: true)
    }

    @Test func writesAtOnceOnAChangeOfStatusAndOnceASecondOtherwise() {
        var refresh = SegmentRefresh()
        let first = Self.verdict(.synchronized)
        #expect(refresh.isDue(first, now: 0, coarseResolution: 0))
        refresh.written(first, boundNanoseconds: first.bound(atMonotonic: 0, coarseResolution: 0), now: 0)
        #expect(!refresh.isDue(first, now: 500_000_000, coarseResolution: 0))
        #expect(refresh.isDue(Self.verdict(.disrupted), now: 1, coarseResolution: 0))
        #expect(refresh.isDue(first, now: 1_000_000_000, coarseResolution: 0))
        #expect(refresh.deadline == 1_000_000_000)
    }

    @Test func aLargerBoundIsWrittenAtOnceASmallerOneWaits() {
        var refresh = SegmentRefresh()
        let first = Self.verdict(.synchronized, bound: 10_000)
        refresh.written(first, boundNanoseconds: 10_001, now: 0)
        #expect(!refresh.isDue(Self.verdict(.synchronized, bound: 5_000, at: 100_000_000), now: 100_000_000, coarseResolution: 0))
        #expect(refresh.isDue(Self.verdict(.synchronized, bound: 20_000, at: 100_000_000), now: 100_000_000, coarseResolution: 0))
    }
}

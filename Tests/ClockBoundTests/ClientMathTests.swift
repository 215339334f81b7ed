import ClockBoundProtocol
import Testing

/// `ClientMath` against what the official 2.0 client does
/// (clock-bound-shm, `compute_bound_at`, and PROTOCOL.md): every expected
/// value worked out by hand. The segment: as_of 100 s, void_after 1000 s,
/// bound 10 µs, drift 1000 ppb (1 µs per second), Synchronized, marker 7
/// with disruption support.
@Suite struct ClientMathTests {
    static let realtime: Int128 = 1_800_000_000_000_000_000
    static let asOf: Int128 = 100_000_000_000

    struct Case: CustomTestStringConvertible, Sendable {
        var testDescription: String
        var coarse: Int128
        var status = SegmentStatus.synchronized
        var voidAfter = CoarseInstant(seconds: 1000, nanoseconds: 0)
        var drift: UInt32 = 1000
        var deviceMarker: UInt64? = 7
        var support = true
        var statusValue: Int32?
        /// nil: the failure expected instead.
        var expected: (SegmentStatus, bound: Int128)?
        var failure: ClientMath.Failure?
    }

    static let cases: [Case] = [
        Case(testDescription: "fresh", coarse: asOf + 2_000_000_000, expected: (.synchronized, 12_000)),
        Case(testDescription: "1 ns before the 5 s grace ends: kept, growth rounded up",
             coarse: asOf + 4_999_999_999, expected: (.synchronized, 15_000)),
        Case(testDescription: "5 s old: FreeRunning", coarse: asOf + 5_000_000_000, expected: (.freeRunning, 15_000)),
        Case(testDescription: "1 ns before void_after: FreeRunning", coarse: 999_999_999_999, expected: (.freeRunning, 910_000)),
        Case(testDescription: "at void_after: Unknown", coarse: 1_000_000_000_000, expected: (.unknown, 910_000)),
        Case(testDescription: "void_after within the grace: the grace wins",
             coarse: asOf + 2_000_000_000, voidAfter: CoarseInstant(seconds: 101, nanoseconds: 0), expected: (.synchronized, 12_000)),
        Case(testDescription: "FreeRunning as written", coarse: asOf + 1_000_000_000, status: .freeRunning, expected: (.freeRunning, 11_000)),
        Case(testDescription: "Disrupted as written, even past void_after", coarse: 2_000_000_000_000, status: .disrupted,
             expected: (.disrupted, 1_910_000)),
        Case(testDescription: "Unknown as written", coarse: asOf, status: .unknown, expected: (.unknown, 10_000)),
        Case(testDescription: "marker differs from the device's: Unknown", coarse: asOf + 1_000_000_000, deviceMarker: 8,
             expected: (.unknown, 11_000)),
        Case(testDescription: "marker differs, no disruption support: ignored", coarse: asOf + 1_000_000_000, deviceMarker: 8,
             support: false, expected: (.synchronized, 11_000)),
        Case(testDescription: "device unreadable: no comparison", coarse: asOf + 1_000_000_000, deviceMarker: nil,
             expected: (.synchronized, 11_000)),
        Case(testDescription: "reader 1 µs behind as_of: counts as as_of", coarse: asOf - 1_000, expected: (.synchronized, 10_000)),
        Case(testDescription: "reader 1 µs + 1 ns behind: causality", coarse: asOf - 1_001, failure: .causalityBreach),
        Case(testDescription: "1 ns at 1 ppb grows the bound by 1 (rounded up)", coarse: asOf + 1, drift: 1, expected: (.synchronized, 10_001)),
        Case(testDescription: "drift 999 999 999 ppb is allowed", coarse: asOf + 1_000_000_000, drift: 999_999_999,
             expected: (.synchronized, 1_000_009_999)),
        Case(testDescription: "drift 100 %: malformed", coarse: asOf, drift: 1_000_000_000, failure: .malformed),
        Case(testDescription: "status 4: malformed", coarse: asOf, statusValue: 4, failure: .malformed),
        Case(testDescription: "status -1: malformed", coarse: asOf, statusValue: -1, failure: .malformed),
    ]

    @Test(arguments: cases)
    func readsAsTheOfficialClient(_ c: Case) {
        var body = SegmentBody(
            asOf: CoarseInstant(seconds: 100, nanoseconds: 0), voidAfter: c.voidAfter, boundNanoseconds: 10_000,
            disruptionMarker: 7, maxDriftPPB: c.drift, status: c.status, disruptionSupport: c.support)
        if let raw = c.statusValue { body.statusValue = raw }
        let result = ClientMath.read(body, realtime: Self.realtime, coarse: c.coarse, deviceMarker: c.deviceMarker)
        switch (result, c.expected) {
        case (.success(let reading), let (status, bound)?):
            #expect(reading.status == status)
            #expect(reading.boundNanoseconds == bound)
            #expect(reading.earliestNanoseconds == Self.realtime - bound && reading.latestNanoseconds == Self.realtime + bound)
        case (.failure(let failure), nil):
            #expect(failure == c.failure)
        default:
            Issue.record("got \(result), expected \(c.expected.map { "\($0)" } ?? "\(c.failure!)")")
        }
    }
}

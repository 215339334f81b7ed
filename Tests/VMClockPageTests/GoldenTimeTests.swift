import BigInt
import Testing
import VMClockPage

/// Hand-computed pages: every expected value below was worked out on paper
/// from the ABI formula, not produced by any code.
struct GoldenTime: Sendable, CustomTestStringConvertible {
    let name: String
    var spec: PageSpec
    let counter: UInt64
    /// nil: no time (outside 0 … 2^62 s).
    let expected: (seconds: Int64, fraction: UInt64)?
    var testDescription: String { name }
}

private let t0: Int64 = 1_700_000_000
private let cv: UInt64 = 1_000_000

private func spec(shift: UInt8, period: UInt64, frac: UInt64, sec: UInt64 = UInt64(t0), cv: UInt64 = cv) -> PageSpec {
    var s = PageSpec()
    s.shift = shift
    s.period = period
    s.timeFrac = frac
    s.timeSec = sec
    s.counterValue = cv
    return s
}

let goldenTimes: [GoldenTime] = [
    .init(name: "at counter_value", spec: spec(shift: 0, period: 1 << 32, frac: 1 << 63),
          counter: cv, expected: (t0, 1 << 63)),
    // frac 2^64−1 + 2^32 units: carry, leaves 2^32 − 1.
    .init(name: "carry into seconds", spec: spec(shift: 0, period: 1 << 32, frac: .max),
          counter: cv + 1, expected: (t0 + 1, 0xFFFF_FFFF)),
    .init(name: "carry by one unit", spec: spec(shift: 0, period: 1, frac: .max),
          counter: cv + 1, expected: (t0 + 1, 0)),
    // 10 ticks of 1/4 s = 2.5 s.
    .init(name: "shift 0, 2.5 s", spec: spec(shift: 0, period: 1 << 62, frac: 0),
          counter: cv + 10, expected: (t0 + 2, 1 << 63)),
    // 3·(2^32+1)/2^31 = 6 + 3/2^31 → 6.
    .init(name: "shift 31 forward floors", spec: spec(shift: 31, period: (1 << 32) + 1, frac: 1000),
          counter: cv + 3, expected: (t0, 1006)),
    // 1000 − 6 − 3/2^31 = 993.99… → 993.
    .init(name: "shift 31 backward floors", spec: spec(shift: 31, period: (1 << 32) + 1, frac: 1000),
          counter: cv - 3, expected: (t0, 993)),
    // 2^40·(2^64−1)/2^63 = 2^41 − 2^-23 → 2^41 − 1.
    .init(name: "shift 63 forward", spec: spec(shift: 63, period: .max, frac: 0),
          counter: cv + (1 << 40), expected: (t0, (1 << 41) - 1)),
    // 2^41 − (2^41 − 2^-23) = 2^-23 → 0.
    .init(name: "shift 63 backward to just above a unit", spec: spec(shift: 63, period: .max, frac: 1 << 41, cv: 1 << 50),
          counter: (1 << 50) - (1 << 40), expected: (t0, 0)),
    // −(2^41 − 2^-23) → one second down, 2^64 − 2^41 (+2^-23 dropped).
    .init(name: "shift 63 backward across a second", spec: spec(shift: 63, period: .max, frac: 0, cv: 1 << 50),
          counter: (1 << 50) - (1 << 40), expected: (t0 - 1, 0 &- (1 << 41))),
    .init(name: "shift 63, one unit per tick", spec: spec(shift: 63, period: 1 << 63, frac: 7),
          counter: cv + 5, expected: (t0, 12)),
    // 10 − 2^60 units: borrow from the second.
    .init(name: "negative delta crosses second downward", spec: spec(shift: 0, period: 1 << 60, frac: 10),
          counter: cv - 1, expected: (t0 - 1, 0xF000_0000_0000_000A)),
    .init(name: "negative delta, exact second", spec: spec(shift: 0, period: 1 << 62, frac: 0),
          counter: cv - 4, expected: (t0 - 1, 0)),
    // −1.5 units → −2.
    .init(name: "negative half unit floors down", spec: spec(shift: 1, period: 3, frac: 0),
          counter: cv - 1, expected: (t0 - 1, UInt64.max - 1)),
    .init(name: "positive half unit floors down", spec: spec(shift: 1, period: 3, frac: 0),
          counter: cv + 1, expected: (t0, 1)),
    // Delta −(2^64−1) ticks of 2^-127 s: −(2 − 2^-63) units → −2.
    .init(name: "full-range negative delta", spec: spec(shift: 63, period: 1, frac: 0, cv: .max),
          counter: 0, expected: (t0 - 1, UInt64.max - 1)),
    .init(name: "full-range positive delta", spec: spec(shift: 0, period: 1, frac: 0, cv: 0),
          counter: .max, expected: (t0, .max)),
    .init(name: "time_sec 2^62 accepted", spec: spec(shift: 0, period: 1, frac: 0, sec: 1 << 62),
          counter: cv, expected: (1 << 62, 0)),
    .init(name: "last instant of second 2^62", spec: spec(shift: 0, period: .max, frac: 0, sec: 1 << 62),
          counter: cv + 1, expected: (1 << 62, .max)),
    .init(name: "beyond 2^62 s gives no time", spec: spec(shift: 0, period: .max, frac: 0, sec: 1 << 62),
          counter: cv + 2, expected: nil),
    .init(name: "before the epoch gives no time", spec: spec(shift: 0, period: 1, frac: 0, sec: 0),
          counter: cv - 1, expected: nil),
]

@Suite struct GoldenTimeTests {
    @Test(arguments: goldenTimes)
    func pageTimeMatchesHandComputedValue(_ g: GoldenTime) throws {
        let data = try g.spec.clockData()
        let time = data.pageTime(atCounter: g.counter)
        let utc = data.utc(atCounter: g.counter)
        if let e = g.expected {
            #expect(time == Timestamp(seconds: e.seconds, fraction: e.fraction))
            #expect(utc == time, "a UTC page's UTC is its page time")
        } else {
            #expect(time == nil)
            #expect(utc == nil)
        }
    }

    /// Validates the BigInt reference itself against the same paper values.
    @Test(arguments: goldenTimes)
    func referenceAgreesWithHandComputedValue(_ g: GoldenTime) {
        let ref = Ref.pageTime(g.spec, counter: g.counter)
        #expect(ref.map { Int64($0.seconds) } == g.expected.map(\.seconds))
        #expect(ref.map { UInt64($0.fraction) } == g.expected.map(\.fraction))
    }

    @Test func utcNanosecondsAreFlooredFraction() throws {
        // 2^64 − 2^60 + 10 units = 0.9375 s + 10·2^-64 s.
        let data = try spec(shift: 0, period: 1 << 60, frac: 10).clockData()
        let utc = try #require(data.utc(atCounter: cv - 1))
        #expect(utc.nanoseconds == 937_500_000)
        #expect(utc.nanosecondsSinceEpoch == (t0 - 1) * 1_000_000_000 + 937_500_000)
        #expect(utc.description == "1699999999.937500000")
    }
}

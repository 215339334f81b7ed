import BigInt
import Testing
import VMClockPage

private func boundSpec(flags: UInt64, shift: UInt8 = 0) -> PageSpec {
    var s = PageSpec()
    s.flags = flags
    s.shift = shift
    s.period = .max  // so that any rate below it is sane
    s.timeMaxerrorNs = 5000
    s.timeEsterrorNs = 700
    s.periodMaxerrorRate = 1 << 55  // 2^55 · 2^-64 s = 1_953_125 ns per tick at shift 0
    s.periodEsterrorRate = 1 << 50  // 61_035.15625 ns per tick at shift 0
    return s
}

@Suite struct ErrorBoundTests {
    @Test(arguments: [
        0, PageSpec.timeMaxerrorValid | PageSpec.timeEsterrorValid,
        PageSpec.periodMaxerrorValid | PageSpec.periodEsterrorValid,
    ] as [UInt64])
    func noBoundUnlessBothTimeAndPeriodAreValid(flags: UInt64) throws {
        let s = boundSpec(flags: flags)
        let data = try s.clockData()
        for counter in [s.counterValue, s.counterValue + 1, s.counterValue - 1] {
            #expect(data.maxErrorNanoseconds(atCounter: counter) == nil)
            #expect(data.estErrorNanoseconds(atCounter: counter) == nil)
        }
    }

    // The optional bounds are compared with typed sums: Swift 6.2's SILGen
    // (Debian's, the arm64 build) crashes on an untyped literal sum there.
    @Test func maxAndEstAreIndependent() throws {
        let s = boundSpec(flags: PageSpec.timeMaxerrorValid | PageSpec.periodMaxerrorValid)
        let data = try s.clockData()
        #expect(data.maxErrorNanoseconds(atCounter: s.counterValue + 1) == UInt64(5000 + 1_953_125))
        #expect(data.estErrorNanoseconds(atCounter: s.counterValue + 1) == nil)
    }

    @Test func atCounterValueTheBoundIsTheTimeError() throws {
        let s = boundSpec(flags: PageSpec.allErrorsValid)
        let data = try s.clockData()
        #expect(data.maxErrorNanoseconds(atCounter: s.counterValue) == 5000)
        #expect(data.estErrorNanoseconds(atCounter: s.counterValue) == 700)
    }

    /// 2^55 units of 2^-64 s are exactly 1_953_125 ns; one more unit (or 19,
    /// about one attosecond) must round the bound up to the next nanosecond.
    @Test(arguments: [(0, 1_953_125), (1, 1_953_126), (19, 1_953_126)] as [(UInt64, UInt64)])
    func roundsUpAfterAnExactNanosecond(extraUnits: UInt64, expectedNs: UInt64) throws {
        var s = boundSpec(flags: PageSpec.allErrorsValid)
        s.periodMaxerrorRate = (1 << 55) + extraUnits
        let data = try s.clockData()
        #expect(data.maxErrorNanoseconds(atCounter: s.counterValue + 1) == 5000 + expectedNs)
        #expect(data.maxErrorNanoseconds(atCounter: s.counterValue - 1) == 5000 + expectedNs, "same bound before")
        // Half-unit estimate rate: 61_035.15625 ns per tick, 2 ticks = 122_070.3125 → 122_071.
        #expect(data.estErrorNanoseconds(atCounter: s.counterValue - 2) == UInt64(700 + 122_071))
    }

    @Test func roundsUpAtShift63() throws {
        var s = boundSpec(flags: PageSpec.allErrorsValid, shift: 63)
        s.periodMaxerrorRate = 1 << 63  // 2^-64 s per tick
        let data = try s.clockData()
        // 2^55 ticks · 2^-64 s = 2^-9 s = 1_953_125 ns exactly.
        #expect(data.maxErrorNanoseconds(atCounter: s.counterValue + (1 << 55)) == UInt64(5000 + 1_953_125))
        s.periodMaxerrorRate = (1 << 63) + 1  // + 2^55 · 2^-127 s = 2^-72 s
        let bumped = try s.clockData()
        #expect(bumped.maxErrorNanoseconds(atCounter: s.counterValue + (1 << 55)) == UInt64(5000 + 1_953_126))
        // One tick of 2^-64 s is a tiny fraction of a ns: still one more ns.
        #expect(bumped.maxErrorNanoseconds(atCounter: s.counterValue - 1) == 5001)
    }

    @Test func saturatesForHugeTickCounts() throws {
        var s = boundSpec(flags: PageSpec.allErrorsValid)
        s.counterValue = 0
        s.periodMaxerrorRate = .max - 1  // ≈ 1 s of error per tick
        s.periodEsterrorRate = 1 << 40
        s.timeMaxerrorNs = 86_400_000_000_000
        let data = try s.clockData()
        #expect(data.maxErrorNanoseconds(atCounter: .max) == .max)
        // 2^40·(2^64−1)·10^9 / 2^64 ns = 2^40·10^9 − tiny: 1_099_511_627_776_000_000_000 > 2^64.
        #expect(data.estErrorNanoseconds(atCounter: .max) == .max)
        s.counterValue = .max
        #expect(try s.clockData().maxErrorNanoseconds(atCounter: 0) == .max, "saturates before counter_value too")
    }

    @Test(arguments: [
        (0, 1 << 55, 0, 0), (1, 1 << 55, 0, 1_953_125), (1, (1 << 55) + 1, 0, 1_953_126),
        (1 << 32, 1 << 32, 0, 1_000_000_000), (1, 1, 0, 1), (1, 1, 63, 1),
        (.max, .max, 0, .max), (1, .max, 0, 1_000_000_000),
    ] as [(UInt64, UInt64, UInt8, UInt64)])
    func ticksToNanosecondsHandValues(ticks: UInt64, units: UInt64, shift: UInt8, expected: UInt64) throws {
        var s = PageSpec()
        s.shift = shift
        let data = try s.clockData()
        #expect(data.ticksToNanoseconds(ticks, unitsPerTick: units) == expected)
        #expect(Ref.ticksToNs(BigInt(ticks), units: units, shift: shift) == expected, "reference agrees")
    }

    /// A page that claims a perfect period still loses 1 ppm of its age:
    /// 10^9 ticks of 1 ns (shift 0: 2^64/10^9 units… rounded) after the anchor, ≥ 1000 ns.
    @Test func aPerfectPeriodClaimStillGrowsAtOnePPM() throws {
        var s = PageSpec()
        s.flags = PageSpec.allErrorsValid
        s.period = 18_446_744_074  // ≈ 1 ns per tick at shift 0
        s.timeMaxerrorNs = 5000
        s.periodMaxerrorRate = 0
        let data = try s.clockData()
        let bound = try #require(data.maxErrorNanoseconds(atCounter: s.counterValue + 1_000_000_000))
        // Exactly 1 ppm of the elapsed time, computed apart from the code's rounding:
        // 10^9 ticks · period · 10^9 / 2^64 ns · 10^-6.
        let exact = Double(1_000_000_000) * Double(s.period) * 1e9 / 0x1p64 * 1e-6
        #expect(Double(bound) >= 5000 + exact)
        #expect(Double(bound) <= 5000 + exact + 2)
        #expect(bound == Ref.maxError(s, counter: s.counterValue + 1_000_000_000))
    }
}

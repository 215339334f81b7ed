import BigInt
import Testing
import VMClockPage

private let t0: Int64 = 1_700_000_000

/// Ticks of 2^-30 s; time t0.0 at counter 1_000_000; max error 1000 ns +
/// 2^15 units/tick (1.9 ppm), est error 100 ns + 2^10 units/tick.
private func compareSpec() -> PageSpec {
    var s = PageSpec()
    s.period = 1 << 34
    s.flags = PageSpec.allErrorsValid
    s.timeMaxerrorNs = 1000
    s.periodMaxerrorRate = 1 << 15
    s.timeEsterrorNs = 100
    s.periodEsterrorRate = 1 << 10
    return s
}

@Suite struct CompareTests {
    /// Bracket of 2 s (2^31 ticks) starting at counter_value: midpoint is
    /// exactly 1 s later, so the page says t0 + 1.000000000.
    @Test(arguments: [
        (Timestamp(seconds: t0, fraction: 3 << 62), Int128(250_000_000)),  // system 0.25 s behind
        (Timestamp(seconds: t0 + 1, fraction: 1 << 62), Int128(-250_000_000)),  // system 0.25 s ahead
        (Timestamp(seconds: t0 + 1, fraction: 0), Int128(0)),
        (Timestamp(seconds: t0 + 3601, fraction: 0), Int128(-3_600_000_000_000)),
    ])
    func offsetIsVMClockMinusSystem(system: Timestamp, expected: Int128) throws {
        let s = compareSpec()
        let data = try s.clockData()
        let bracket = CounterBracket(counterBefore: s.counterValue, counterAfter: s.counterValue + (1 << 31), system: system)
        let c = try #require(data.compare(with: bracket))
        #expect(c.counter == s.counterValue + (1 << 30))
        #expect(c.utc == Timestamp(seconds: t0 + 1, fraction: 0))
        #expect(c.system == system)
        #expect(c.offsetNanoseconds == expected)
        #expect(c.readUncertaintyNanoseconds == 1_000_000_000)
        // 2^30 ticks · 2^15 units = 2^-19 s = 1907.35… ns → 1908; 2^40 units = 59.6… ns → 60.
        #expect(c.pageMaxErrorNanoseconds == 1000 + 1908)
        #expect(c.pageEstErrorNanoseconds == 100 + 60)
        #expect(c.offsetMaxErrorNanoseconds == 1000 + 1908 + 1_000_000_000)
    }

    /// One tick is 2^-30 s = 0.931322574615478515625 ns.
    @Test(arguments: [
        (0, 0), (1, 1), (2, 1), (3, 2), (1 << 30, 500_000_000), ((1 << 30) + 1, 500_000_001),
    ] as [(UInt64, UInt64)])
    func readUncertaintyIsHalfTheWindowRoundedUp(window: UInt64, expected: UInt64) throws {
        let s = compareSpec()
        let data = try s.clockData()
        let system = Timestamp(seconds: t0, fraction: 0)
        let bracket = CounterBracket(counterBefore: s.counterValue + 7, counterAfter: s.counterValue + 7 + window, system: system)
        let c = try #require(data.compare(with: bracket))
        #expect(c.readUncertaintyNanoseconds == expected)
        let ref = Ref.ceilDiv(BigInt(window) * BigInt(s.period) * Ref.billion, BigInt(1) << 65)
        #expect(BigInt(c.readUncertaintyNanoseconds) == ref, "BigInt reference")
        #expect(c.counter == s.counterValue + 7 + window / 2)
    }

    @Test func invertedBracketGivesNothing() throws {
        let s = compareSpec()
        let data = try s.clockData()
        let bracket = CounterBracket(counterBefore: s.counterValue + 10, counterAfter: s.counterValue + 9,
                                     system: Timestamp(seconds: t0, fraction: 0))
        #expect(data.compare(with: bracket) == nil)
    }

    @Test func noUTCAtTheMidpointGivesNothing() throws {
        var s = compareSpec()
        s.timeSec = 0
        let data = try s.clockData()
        let bracket = CounterBracket(counterBefore: s.counterValue - 10, counterAfter: s.counterValue - 8,
                                     system: Timestamp(seconds: t0, fraction: 0))
        #expect(data.compare(with: bracket) == nil)
    }

    @Test func offsetOfNonTrivialTimesMatchesReference() throws {
        // Page frac and system both multiples of 2^55 units (whole ns), so
        // the exact difference is a whole number of ns.
        var s = compareSpec()
        s.timeFrac = exactFraction(nanoseconds: 123 * 1_953_125)
        let data = try s.clockData()
        let system = Timestamp(seconds: t0 - 2, fraction: exactFraction(nanoseconds: 500 * 1_953_125))
        let bracket = CounterBracket(counterBefore: s.counterValue - 4, counterAfter: s.counterValue + 4, system: system)
        let c = try #require(data.compare(with: bracket))
        #expect(c.offsetNanoseconds == 2_000_000_000 + (123 - 500) * 1_953_125)
        #expect(BigInt(c.offsetNanoseconds) == Ref.differenceNanoseconds(c.utc, system))
    }

    // MARK: - Regressions

    /// The offset against a whole-nanosecond system time is the exact floor,
    /// even where the page's sub-nanosecond part is smaller than the 2^-64 s
    /// rounding of the system time.
    @Test func offsetIsTheFlooredExactDifference() throws {
        var s = compareSpec()
        s.timeFrac = 27_670_116_111  // 1.50000000002 ns
        let data = try s.clockData()
        let system = Timestamp(seconds: t0, nanoseconds: 1)
        let bracket = CounterBracket(counterBefore: s.counterValue, counterAfter: s.counterValue, system: system)
        let c = try #require(data.compare(with: bracket))
        // Exact difference 0.50000000002 ns: rounded down, 0.
        #expect(c.offsetNanoseconds == 0)
        var whole = compareSpec()
        whole.timeFrac = 18_446_744_074  // exactly 1 ns, rounded up: floor gives 1 ns
        let onTheNanosecond = try #require(try whole.clockData().compare(with: bracket))
        #expect(onTheNanosecond.offsetNanoseconds == 0)
    }

    /// Half a window beyond 2^65 ns saturates at UInt64.max; halving an
    /// already saturated window would understate the bound as 2^63 ns.
    @Test func readUncertaintySaturatesInsteadOfUnderstatingHugeWindows() throws {
        var s = compareSpec()
        s.period = 1 << 63  // 0.5 s per tick (hostile but accepted)
        let data = try s.clockData()
        let bracket = CounterBracket(counterBefore: s.counterValue, counterAfter: s.counterValue + (1 << 40),
                                     system: Timestamp(seconds: t0, fraction: 0))
        let c = try #require(data.compare(with: bracket))
        // Window 2^39 s; half of it is 2^38·10^9 ns > UInt64.max.
        let ref = Ref.saturate(Ref.ceilDiv(BigInt(UInt64(1) << 40) * BigInt(UInt64(1) << 63) * Ref.billion, BigInt(1) << 65))
        #expect(ref == .max)
        #expect(c.readUncertaintyNanoseconds == .max)
    }
}

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
    /// (`expected` is an Int64: Swift 6.2.3 on arm64, which builds the arm64
    /// tests, crashes passing an Int128 argument to a parameterized test.)
    @Test(arguments: [
        (Timestamp(seconds: t0, fraction: 3 << 62), Int64(250_000_000)),  // system 0.25 s behind
        (Timestamp(seconds: t0 + 1, fraction: 1 << 62), Int64(-250_000_000)),  // system 0.25 s ahead
        (Timestamp(seconds: t0 + 1, fraction: 0), Int64(0)),
        (Timestamp(seconds: t0 + 3601, fraction: 0), Int64(-3_600_000_000_000)),
    ])
    func offsetIsVMClockMinusSystem(system: Timestamp, expected: Int64) throws {
        let s = compareSpec()
        let data = try s.clockData()
        let bracket = CounterBracket(counterBefore: s.counterValue, counterAfter: s.counterValue + (1 << 31), system: system)
        let c = try #require(data.compare(with: bracket))
        #expect(c.counter == s.counterValue + (1 << 30))
        #expect(c.utc == Timestamp(seconds: t0 + 1, fraction: 0))
        #expect(c.system == system)
        #expect(c.offsetNanoseconds == Int128(expected))
        // The read: 2^30 + 1 ticks (the true counter may be up to after + 1):
        // 1 s + 0.93 ns → 1_000_000_001, and at the max error rate 2^-19 s + → 1908.
        #expect(c.readUncertaintyNanoseconds == 1_000_000_001 + 1908)
        // 2^30 ticks · 2^15 units = 2^-19 s = 1907.35… ns → 1908; 2^40 units = 59.6… ns → 60.
        // (Typed sums: Swift 6.2's SILGen crashes on an optional compared
        // with an untyped literal sum inside #expect.)
        #expect(c.pageMaxErrorNanoseconds == UInt64(1000 + 1908))
        #expect(c.pageEstErrorNanoseconds == UInt64(100 + 60))
        #expect(c.offsetMaxErrorNanoseconds == UInt64(1000 + 1908 + 1_000_001_909))
    }

    /// One tick is 2^-30 s = 0.931322574615478515625 ns; the max error rate
    /// 2^-49 s a tick. The counter at the system read is anywhere in
    /// (before, after + 1): from the floored midpoint, ⌈window/2⌉ + 1 ticks at
    /// most, each worth a period plus its max error (both rounded up), and the
    /// midpoint's time is floored to 2^-64 s.
    @Test(arguments: [
        (0, 1 + 1), (1, 2 + 1), (2, 2 + 1), (3, 3 + 1),
        // 2^29 + 1 ticks: 500_000_000.93 → …001; 2^-20 s + → 954.
        (1 << 30, 500_000_001 + 954),
        // 2^29 + 2 ticks: 500_000_001.86 → …002.
        ((1 << 30) + 1, 500_000_002 + 954),
        // 2^30 ticks: exactly 1 s, and 2^-64 s more for the floored time → …001; 2^-19 s = 1907.35 → 1908.
        ((1 << 31) - 2, 1_000_000_001 + 1908),
    ] as [(UInt64, UInt64)])
    func readUncertaintyCoversWholeTicks(window: UInt64, expected: UInt64) throws {
        let s = compareSpec()
        let data = try s.clockData()
        let system = Timestamp(seconds: t0, fraction: 0)
        let bracket = CounterBracket(counterBefore: s.counterValue + 7, counterAfter: s.counterValue + 7 + window, system: system)
        let c = try #require(data.compare(with: bracket))
        #expect(c.readUncertaintyNanoseconds == expected)
        #expect(c.counter == s.counterValue + 7 + window / 2)
    }

    /// arm64's counter runs at 25 MHz: a tick is 40 ns. Two reads one or two
    /// ticks apart pair the system time with the floored midpoint, but the
    /// counter at the system read may be up to 2 ticks (80 ns) from it; half
    /// the window (20 or 40 ns) was short by 40–60 ns.
    @Test(arguments: [1, 2] as [UInt64])
    func aCoarseCounterCountsWholeTicks(window: UInt64) throws {
        var s = compareSpec()
        s.period = 737_869_762_949  // 40 ns · 2^64 / 10^9, rounded up: 40.00000000002 ns
        s.periodMaxerrorRate = 0  // floored at 1 ppm: 737_870 units, 0.00004 ns a tick
        let data = try s.clockData()
        let bracket = CounterBracket(counterBefore: s.counterValue, counterAfter: s.counterValue + window,
                                     system: Timestamp(seconds: t0, fraction: 0))
        let c = try #require(data.compare(with: bracket))
        // 2 ticks: 80.00000000004 ns → 81; at 1 ppm, 0.00008 ns → 1.
        #expect(c.readUncertaintyNanoseconds == 82)
        let worst = Ref.worstReadError(s, before: s.counterValue, after: s.counterValue + window, reported: c.utc)
        #expect(BigInt(try #require(c.offsetMaxErrorNanoseconds)) << 64 >= worst)
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

    /// A read uncertainty beyond 2^64 ns saturates at UInt64.max.
    @Test func readUncertaintySaturatesForHugeWindows() throws {
        var s = compareSpec()
        s.period = 1 << 63  // 0.5 s per tick (hostile but accepted)
        let data = try s.clockData()
        let bracket = CounterBracket(counterBefore: s.counterValue, counterAfter: s.counterValue + (1 << 40),
                                     system: Timestamp(seconds: t0, fraction: 0))
        let c = try #require(data.compare(with: bracket))
        // Window 2^39 s; half of it is 2^38·10^9 ns > UInt64.max.
        #expect(BigInt(UInt64(1) << 38) * Ref.billion > Ref.maxU64)
        #expect(c.readUncertaintyNanoseconds == .max)
    }
}

/// One system clock reading bracketed by two counter reads: the counter was
/// `counterBefore` before CLOCK_REALTIME was read and `counterAfter` after.
public struct CounterBracket: Sendable, Equatable {
    public var counterBefore: UInt64
    public var counterAfter: UInt64
    public var system: Timestamp

    public init(counterBefore: UInt64, counterAfter: UInt64, system: Timestamp) {
        self.counterBefore = counterBefore
        self.counterAfter = counterAfter
        self.system = system
    }

    /// The counter went backwards inside the bracket (another CPU's counter,
    /// or a broken one): the bracket says nothing.
    public var isInverted: Bool { counterAfter < counterBefore }

    /// Ticks between the two counter reads; 0 for an inverted bracket.
    public var windowTicks: UInt64 { isInverted ? 0 : counterAfter - counterBefore }

    /// The counter reading paired with `system`: the middle of the bracket.
    public var counterMidpoint: UInt64 { counterBefore + windowTicks / 2 }

    /// Whole ticks between `counterMidpoint` and where the counter truly was
    /// when `system` was read, at most.
    ///
    /// A reading c means the counter was somewhere in [c, c+1) (it counts
    /// whole ticks), and the system clock was read after the first counter
    /// read and before the second: the true counter at that instant lies in
    /// (before, after + 1). Against the floored midpoint m = before + ⌊w/2⌋
    /// (w the window) the farthest it can be is max(m − before, after + 1 − m)
    /// = max(⌊w/2⌋, ⌈w/2⌉ + 1) = ⌈w/2⌉ + 1 ticks: half the window is a tick or
    /// two short, which on a 25 MHz counter is 40–80 ns. No overflow: ⌈w/2⌉ ≤ 2^63.
    public var readDistanceTicks: UInt64 { windowTicks - windowTicks / 2 + 1 }
}

/// The page's UTC compared with the system clock at one bracket.
public struct SystemComparison: Sendable, Equatable {
    /// Counter reading the page was evaluated at (the bracket's midpoint).
    public var counter: UInt64
    public var utc: Timestamp
    public var system: Timestamp
    /// vmclock UTC − system time, ns: floor of the exact difference, the
    /// system time being a whole-nanosecond reading (a timespec).
    public var offsetNanoseconds: Int128
    /// How far, in ns rounded up, the page's time at `counter` may be from
    /// its time where the counter truly was when the system clock was read
    /// (`CounterBracket.readDistanceTicks`), the period's max error included.
    public var readUncertaintyNanoseconds: UInt64
    /// The page's bounds at `counter` (nil where not valid), without the read.
    public var pageMaxErrorNanoseconds: UInt64?
    public var pageEstErrorNanoseconds: UInt64?

    /// What the offset's maximum error really is: page bound plus the read's own uncertainty.
    public var offsetMaxErrorNanoseconds: UInt64? {
        pageMaxErrorNanoseconds?.saturatingAdd(readUncertaintyNanoseconds)
    }
}

extension ClockData {
    /// Compares the page's UTC with the system clock read inside `bracket`.
    /// Nil if the page gives no UTC at that reading or the bracket is inverted.
    public func compare(with bracket: CounterBracket) -> SystemComparison? {
        guard !bracket.isInverted else { return nil }
        let counter = bracket.counterMidpoint
        guard let utc = utc(atCounter: counter) else { return nil }
        return SystemComparison(
            counter: counter, utc: utc, system: bracket.system,
            offsetNanoseconds: utc.nanoseconds(sinceWholeNanoseconds: bracket.system),
            readUncertaintyNanoseconds: readUncertaintyNanoseconds(bracket),
            pageMaxErrorNanoseconds: maxErrorNanoseconds(atCounter: counter),
            pageEstErrorNanoseconds: estErrorNanoseconds(atCounter: counter))
    }
}

extension ClockData {
    /// What pairing `bracket`'s system time with the page's time at its
    /// midpoint can be off by, ns, rounded up and saturating.
    ///
    /// Over d = `readDistanceTicks` ticks the page's own time moves by d ·
    /// period, and its bound (time_maxerror + rate · |ticks from
    /// counter_value|, taken at the midpoint) may be short by d · rate at the
    /// true instant: so d · (period + rate), with the max error rate as
    /// `maxErrorNanoseconds` floors it (1 ppm at least; 1 ppm too where the
    /// page gives none). The time at the midpoint is floored to 2^-64 s:
    /// that much more. Each part is rounded up on its own (period + rate may
    /// not fit 64 bits): at most 1 ns more than the exact sum.
    public func readUncertaintyNanoseconds(_ bracket: CounterBracket) -> UInt64 {
        let ticks = bracket.readDistanceTicks
        let rate = flooredMaxErrorRate ?? minimumMaxErrorRate
        return ticksToNanosecondsPlusOneFraction(ticks, unitsPerTick: counterPeriodFracSec)
            .saturatingAdd(ticksToNanoseconds(ticks, unitsPerTick: rate))
    }
}

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
    /// Half the bracket in ns, rounded up: where within the bracket the
    /// system clock was actually read is unknown.
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
            readUncertaintyNanoseconds: halfTicksToNanoseconds(bracket.windowTicks, unitsPerTick: counterPeriodFracSec),
            pageMaxErrorNanoseconds: maxErrorNanoseconds(atCounter: counter),
            pageEstErrorNanoseconds: estErrorNanoseconds(atCounter: counter))
    }
}

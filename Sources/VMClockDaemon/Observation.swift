import VMClockAccess
import VMClockPage

/// One look at the device, as the state machine sees it.
public enum Observation: Sendable, Equatable {
    case unavailable(DeviceError)
    case busy
    case invalid(PageError)
    /// A consistent page and the clock readings taken while it was current.
    case page(VMClockPage, Look)
}

/// The readings of one look: the counter paired with CLOCK_REALTIME (the
/// sample, and the bound it can carry) and with CLOCK_MONOTONIC_RAW (the
/// rate cross-check).
public struct Look: Sendable, Equatable {
    /// The counter around a CLOCK_REALTIME read.
    public var bracket: CounterBracket
    /// The counter around a CLOCK_MONOTONIC_RAW read.
    public var rawBracket: CounterBracket

    public init(bracket: CounterBracket, rawBracket: CounterBracket) {
        self.bracket = bracket
        self.rawBracket = rawBracket
    }
}

import VMClockPage

/// One look at the device, as the state machine sees it.
public enum Observation: Sendable, Equatable {
    /// The device went away (see DeviceError.hasVanished).
    case unavailable(DeviceError)
    /// The device is there but could not be opened or read (EMFILE, EIO,
    /// permission): a hold, not a disruption.
    case readFailed(DeviceError)
    case busy
    case invalid(PageError)
    /// A consistent page and the clock readings taken while it was current.
    case page(VMClockPage, Look)
    /// The page last observed is still current (same device, seq_count
    /// unchanged), with fresh clock readings: nothing of it needs decoding
    /// or judging again.
    case samePage(Look)
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

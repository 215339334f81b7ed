import CVMClockCounter
import VMClockPage

/// The CPU counter the vmclock page describes, read with the ordering the
/// cross-timestamp needs (see CVMClockCounter.h).
public enum Counter {
    /// The counter this build reads, or nil on an architecture without one.
    public static let native: CounterID? = {
        let id = CounterID(rawValue: vmclock_native_counter_id())
        return id == .invalid ? nil : id
    }()

    @inline(__always)
    public static func read() -> UInt64 { vmclock_read_counter() }
}

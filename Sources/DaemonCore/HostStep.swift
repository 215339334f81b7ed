import VMClockPage

/// Two versions of the page under one disruption marker that disagree about
/// the time at one counter reading by more than both their max errors: the
/// host broke its promise ("if the time advertised by the host steps outside
/// the error bounds previously advertised, that's just broken"), so the
/// samples chronyd holds from before are wrong by more than they claimed.
/// Within the bounds (a slew, an oscillator update) it is no step.
public struct HostStep: Equatable, Sendable {
    /// New page's UTC − old page's UTC at the new page's counter_value, ns, rounded toward zero.
    public var stepNanoseconds: Int128
    /// Each page's max error at that reading, ns, rounded up.
    public var oldBoundNanoseconds: UInt64
    public var newBoundNanoseconds: UInt64

    /// The step from `old` to `new`, if it is outside their bounds. Both are
    /// evaluated at the new page's counter_value, exactly (128-bit time, the
    /// bounds rounded up and |Δ| down, so rounding never makes a step).
    /// Pages without a max error make no promise to break: an estimated
    /// error is no bound (a host's estimate is routinely exceeded), so
    /// comparing against it would reset chronyd on ordinary noise.
    static func between(_ old: ClockData, _ new: ClockData) -> HostStep? {
        let counter = new.counterValue
        guard let oldBound = old.maxErrorNanoseconds(atCounter: counter),
            let newBound = new.maxErrorNanoseconds(atCounter: counter),
            let before = old.utc(atCounter: counter), let after = new.utc(atCounter: counter)
        else { return nil }
        // Floor of |Δ| either way round: the larger of the two floored differences.
        let forward = after.nanoseconds(since: before), backward = before.nanoseconds(since: after)
        let magnitude = max(forward, backward)
        // Both bounds ≤ 2^64: their sum fits Int128.
        guard magnitude > Int128(oldBound) + Int128(newBound) else { return nil }
        return HostStep(
            stepNanoseconds: forward >= 0 ? forward : -backward,
            oldBoundNanoseconds: oldBound, newBoundNanoseconds: newBound)
    }
}

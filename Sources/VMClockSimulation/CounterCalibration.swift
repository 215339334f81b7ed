import VMClockAccess
import VMClockPage

/// The simulator's own knowledge of the CPU counter: its rate, measured
/// against CLOCK_MONOTONIC (which runs at CLOCK_REALTIME's rate) over a
/// baseline that grows for as long as the simulator runs.
struct CounterCalibration {
    private let origin: CounterBracket
    private var latest: CounterBracket

    /// Measures over `warmUpMilliseconds` before returning, so the first
    /// page already has a period good to well under a ppm.
    init(warmUpMilliseconds: UInt32 = 50) {
        origin = Self.bracket()
        repeat { latest = Self.bracket() } while latest.system.seconds(since: origin.system) < Double(warmUpMilliseconds) * 1e-3
    }

    /// Seconds per tick, from the longest baseline available.
    mutating func secondsPerTick() -> Double {
        latest = Self.bracket()
        return latest.system.seconds(since: origin.system) / Double(latest.counterMidpoint &- origin.counterMidpoint)
    }

    private static func bracket() -> CounterBracket {
        CrossTimestamp.measure(attempts: 9, clock: .monotonic)
    }
}

/// Fixed-point period for the page: seconds per tick in units of
/// 2^-(64+shift). `shift` nil picks the largest that keeps the value in 64
/// bits, for the most precision.
func fixedPointPeriod(secondsPerTick: Double, shift: UInt8?) -> (period: UInt64, shift: UInt8) {
    let atShiftZero = secondsPerTick * 0x1p64
    // A period error of −100 % or less gives no positive period: shift 0
    // then, and the smallest period (0's exponent is Int.min).
    let chosen = shift ?? (atShiftZero > 0 ? UInt8(max(0, min(63, 63 - Int(atShiftZero.exponent)))) : 0)
    let scaled = (atShiftZero * Double(sign: .plus, exponent: Int(chosen), significand: 1)).rounded()
    return (scaled >= 0x1p64 ? .max : UInt64(max(scaled, 1)), chosen)
}

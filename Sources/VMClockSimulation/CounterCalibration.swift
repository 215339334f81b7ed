import VMClockAccess
import VMClockPage

/// The simulator's own knowledge of the CPU counter: its rate, measured
/// against CLOCK_MONOTONIC (which runs at CLOCK_REALTIME's rate) over a
/// baseline that grows for as long as the simulator runs.
struct CounterCalibration {
    private let origin: MonotonicBracket
    private var latest: MonotonicBracket

    /// Measures over `warmUpMilliseconds` before returning, so the first
    /// page already has a period good to well under a ppm.
    init(warmUpMilliseconds: UInt32 = 50) {
        origin = MonotonicBracket.tightest()
        var spent = 0.0
        repeat { latest = MonotonicBracket.tightest(); spent = latest.nanoseconds - origin.nanoseconds }
        while spent < Double(warmUpMilliseconds) * 1e6
    }

    /// Seconds per tick, from the longest baseline available.
    mutating func secondsPerTick() -> Double {
        latest = MonotonicBracket.tightest()
        return (latest.nanoseconds - origin.nanoseconds) / Double(latest.counter &- origin.counter) * 1e-9
    }
}

/// A CLOCK_MONOTONIC reading paired with the counter's midpoint around it.
private struct MonotonicBracket {
    var counter: UInt64
    var nanoseconds: Double

    static func tightest(attempts: Int = 9) -> MonotonicBracket {
        var best: (window: UInt64, bracket: MonotonicBracket)?
        for _ in 0..<attempts {
            let before = Counter.read()
            let ns = SystemClock.monotonicNanoseconds()
            let after = Counter.read()
            let window = after &- before
            if best == nil || window < best!.window {
                best = (window, MonotonicBracket(counter: before &+ window / 2, nanoseconds: Double(ns)))
            }
        }
        return best!.bracket
    }
}

/// Fixed-point period for the page: seconds per tick in units of
/// 2^-(64+shift). `shift` nil picks the largest that keeps the value in 64
/// bits, for the most precision.
func fixedPointPeriod(secondsPerTick: Double, shift: UInt8?) -> (period: UInt64, shift: UInt8) {
    let atShiftZero = secondsPerTick * 0x1p64
    let chosen = shift ?? UInt8(max(0, min(63, 63 - Int(atShiftZero.exponent))))
    let scaled = (atShiftZero * Double(sign: .plus, exponent: Int(chosen), significand: 1)).rounded()
    return (scaled >= 0x1p64 ? .max : UInt64(max(scaled, 1)), chosen)
}

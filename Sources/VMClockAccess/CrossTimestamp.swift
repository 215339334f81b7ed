import VMClockPage

/// Pairs CLOCK_REALTIME with the CPU counter by bracketing one clock read
/// between two counter reads. The tightest of several tries wins: a bracket
/// widened by an interrupt or a preemption says so by its width, and the
/// width becomes part of the error bound.
public enum CrossTimestamp {
    public static let defaultAttempts = 5

    public static func measure(attempts: Int = defaultAttempts) -> CounterBracket {
        var best = bracketOnce()
        for _ in 1..<max(attempts, 1) {
            let next = bracketOnce()
            if next.windowTicks < best.windowTicks { best = next }
        }
        return best
    }

    @inline(__always)
    static func bracketOnce() -> CounterBracket {
        let before = Counter.read()
        let system = SystemClock.realtime()
        let after = Counter.read()
        return CounterBracket(counterBefore: before, counterAfter: after, system: system)
    }
}

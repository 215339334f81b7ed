import VMClockPage

/// Pairs a kernel clock with the CPU counter by bracketing one clock read
/// between two counter reads. The tightest of several tries wins: a bracket
/// widened by an interrupt or a preemption says so by its width, and the
/// width becomes part of the error bound.
public enum CrossTimestamp {
    public static let defaultAttempts = 5

    public static func measure(attempts: Int = defaultAttempts, clock: SystemClock.Kind = .realtime) -> CounterBracket {
        var best = bracketOnce(clock)
        for _ in 1..<max(attempts, 1) {
            let next = bracketOnce(clock)
            // An inverted bracket never wins, however narrow it looks.
            if best.isInverted || (!next.isInverted && next.windowTicks < best.windowTicks) { best = next }
        }
        return best
    }

    @inline(__always)
    static func bracketOnce(_ clock: SystemClock.Kind) -> CounterBracket {
        let before = Counter.read()
        let system = SystemClock.read(clock)
        let after = Counter.read()
        return CounterBracket(counterBefore: before, counterAfter: after, system: system)
    }
}

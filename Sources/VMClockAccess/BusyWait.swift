#if canImport(Glibc)
import Glibc
#endif
import CVMClockCounter

/// The bounded wait of a seqlock reader: spin briefly (an update takes
/// nanoseconds), then yield the CPU, and give up at the deadline. Never an
/// unbounded spin, even if the host leaves seq_count odd forever.
struct BusyWait {
    private let deadline: Int64
    private var spins = 0
    private static let spinsBeforeYield = 1_000

    init(timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        deadline = SystemClock.monotonicNanoseconds() + seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Waits a little; false once the deadline has passed.
    mutating func next() -> Bool {
        spins += 1
        if spins < Self.spinsBeforeYield {
            vmclock_cpu_relax()
        } else {
            sched_yield()
        }
        return SystemClock.monotonicNanoseconds() < deadline
    }
}

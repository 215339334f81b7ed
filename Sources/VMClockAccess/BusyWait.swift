#if canImport(Glibc)
import Glibc
#endif
import CVMClockCounter

/// The bounded wait of a seqlock reader: spin briefly (an update takes
/// nanoseconds), then yield the CPU, and give up at the deadline. Never an
/// unbounded spin, even if the host leaves seq_count odd forever.
struct BusyWait {
    private let timeoutNanoseconds: Int64
    /// Taken at the first retry, not at creation: almost every read
    /// succeeds at once and should not pay for a clock read.
    private var deadline: Int64?
    private var spins = 0
    private static let spinsBeforeYield = 1_000

    init(timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        timeoutNanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Waits a little; false once the deadline has passed.
    mutating func next() -> Bool {
        let deadline = self.deadline ?? SystemClock.monotonicNanoseconds() + timeoutNanoseconds
        self.deadline = deadline
        spins += 1
        if spins < Self.spinsBeforeYield {
            vmclock_cpu_relax()
        } else {
            sched_yield()
        }
        return SystemClock.monotonicNanoseconds() < deadline
    }
}

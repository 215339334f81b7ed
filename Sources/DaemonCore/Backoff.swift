/// When to try again something that fails: `first` after the first failure,
/// twice as long after each further one, at most `limit`; a success starts
/// over. The device's reads, chronyd's requests that must succeed and the
/// samples to a missing refclock socket each keep one, with their own
/// timings (`device`, `ChronyDirector`, `SampleDelivery`). Monotonic
/// nanoseconds throughout.
package struct Backoff: Equatable, Sendable {
    /// A device that fails to open or read is tried after 0.1 s, then no
    /// more often than every 2 s: a failing read (or the driver's read
    /// spinning its 100 ms on a stuck page) costs little.
    package static let device = Backoff(first: 100_000_000, limit: 2_000_000_000)

    package let first: Int64
    package let limit: Int64
    /// The next attempt is not before this; nil: no failure since the last success.
    package private(set) var retryAt: Int64?
    /// Failures since the last success.
    package private(set) var failures = 0
    private var delay: Int64 = 0

    package init(first: Int64, limit: Int64) {
        (self.first, self.limit) = (first, limit)
    }

    /// The limit in whole seconds, for messages.
    package var limitSeconds: Int64 { limit / 1_000_000_000 }

    package func isWaiting(now: Int64) -> Bool {
        guard let retryAt else { return false }
        return now < retryAt
    }

    /// Records a failure at `now`; returns the failures so far.
    @discardableResult
    package mutating func failed(now: Int64) -> Int {
        failures += 1
        delay = min(max(delay * 2, first), limit)
        retryAt = now + delay
        return failures
    }

    /// Records a success; returns the attempts it took (failures and this one).
    @discardableResult
    package mutating func succeeded() -> Int {
        defer { (failures, delay, retryAt) = (0, 0, nil) }
        return failures + 1
    }
}

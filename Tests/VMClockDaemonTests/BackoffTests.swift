import DaemonCore
import Testing

/// The one backoff (device reads, chronyd's requests, samples to a missing
/// refclock socket): first delay, doubling, limit; a success starts over.
@Suite struct BackoffTests {
    static let ms: Int64 = 1_000_000

    /// The delays after `failures` failures in a row, each retried when due.
    static func waits(_ backoff: inout Backoff, failures: Int, from start: Int64 = 0) -> [Int64] {
        var now = start
        var waits: [Int64] = []
        for _ in 0..<failures {
            backoff.failed(now: now)
            let retryAt = backoff.retryAt!
            waits.append(retryAt - now)
            now = retryAt
        }
        return waits
    }

    @Test func chronydsRequestsWait100msDoublingTo5s() {
        var backoff = Backoff(first: 100 * Self.ms, limit: 5000 * Self.ms)
        #expect(Self.waits(&backoff, failures: 9) == [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000].map { $0 * Self.ms })
    }

    @Test func samplesWaitOneIntervalDoublingToASecond() {
        var backoff = Backoff(first: 62_500_000, limit: 1000 * Self.ms)
        #expect(Self.waits(&backoff, failures: 6) == [62_500_000, 125_000_000, 250_000_000, 500_000_000, 1_000_000_000, 1_000_000_000])
    }

    @Test func aFirstDelayBeyondTheLimitIsTheLimit() {
        var backoff = Backoff(first: 3000 * Self.ms, limit: 1000 * Self.ms)
        #expect(Self.waits(&backoff, failures: 2) == [1000 * Self.ms, 1000 * Self.ms])
    }

    @Test func itWaitsUntilTheRetryIsDueAndNotAfter() {
        var backoff = Backoff.device
        #expect(!backoff.isWaiting(now: 0))
        #expect(backoff.retryAt == nil)
        backoff.failed(now: 1000)
        #expect(backoff.isWaiting(now: 1000 + 100 * Self.ms - 1))
        #expect(!backoff.isWaiting(now: 1000 + 100 * Self.ms))
    }

    @Test func failuresAreCountedAndASuccessTellsTheAttemptsAndStartsOver() {
        var backoff = Backoff(first: 100 * Self.ms, limit: 5000 * Self.ms)
        #expect(backoff.succeeded() == 1)
        #expect([backoff.failed(now: 0), backoff.failed(now: 0), backoff.failed(now: 0)] == [1, 2, 3])
        #expect(backoff.succeeded() == 4)
        #expect(backoff.failures == 0 && backoff.retryAt == nil && !backoff.isWaiting(now: 0))
        #expect(Self.waits(&backoff, failures: 2, from: 7) == [100 * Self.ms, 200 * Self.ms])
    }
}

/// When to try a failing device again: 0.1 s after the first failure, then
/// twice as long after each further one, at most every 2 s. A device that
/// fails to open or read is tried no more often than that, so a failing
/// read (or the driver's read spinning its 100 ms on a stuck page) costs
/// little; a success starts over.
package struct RetryBackoff: Equatable {
    package static let firstNanoseconds: Int64 = 100_000_000
    package static let maximumNanoseconds: Int64 = 2_000_000_000
    package static let maximumSeconds = 2

    /// The next attempt is not before this (monotonic ns); nil: no failure.
    package private(set) var retryAt: Int64?
    private var interval: Int64 = 0

    package init() {}

    package func isWaiting(now: Int64) -> Bool {
        guard let retryAt else { return false }
        return now < retryAt
    }

    package mutating func failed(now: Int64) {
        interval = interval == 0 ? Self.firstNanoseconds : min(interval * 2, Self.maximumNanoseconds)
        retryAt = now + interval
    }

    package mutating func succeeded() {
        interval = 0
        retryAt = nil
    }
}

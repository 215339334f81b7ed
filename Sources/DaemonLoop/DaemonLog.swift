import Logging

/// The daemon's log: events as they happen, repeating conditions once a
/// minute per kind with the count left out, each line with the journal
/// fields of the moment.
final class DaemonLog {
    let logger: Logger
    private var limiter = RateLimiter()
    /// The structured fields (state, marker, last offset) for every line.
    var metadata: () -> Logger.Metadata = { [:] }

    init(logger: Logger) { self.logger = logger }

    func log(_ level: Logger.Level, _ message: String, metadata extra: Logger.Metadata = [:]) {
        logger.log(level: level, "\(message)", metadata: metadata().merging(extra) { $1 })
    }

    /// The first occurrence of `kind` at once, then at most once a minute;
    /// the message is built only then (nothing allocated for a left-out one).
    func rateLimited(_ kind: String, now: Int64, _ level: Logger.Level, _ message: @autoclosure () -> String) {
        guard let suppressed = limiter.admit(kind, now: now) else { return }
        log(level, message() + (suppressed > 0 ? " (\(suppressed) more like this since the last report)" : ""))
    }

    /// The condition ended: its next occurrence is logged at once.
    func cleared(_ kinds: String...) {
        for kind in kinds { limiter.clear(kind) }
    }
}

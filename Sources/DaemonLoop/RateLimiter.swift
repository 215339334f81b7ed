/// Keeps a repeating condition to one log line per interval per kind, and
/// says how many were left out, so a log never floods (a missing chronyd at
/// 16 samples a second would otherwise write 16 lines a second).
public struct RateLimiter: Sendable {
    public let intervalNanoseconds: Int64
    private var lastLogged: [String: Int64] = [:]
    private var suppressed: [String: Int] = [:]

    public init(intervalSeconds: Double = 60) {
        intervalNanoseconds = Int64(intervalSeconds * 1e9)
    }

    /// nil: stay quiet; otherwise log now, mentioning the count left out since.
    public mutating func admit(_ kind: String, now: Int64) -> Int? {
        if let last = lastLogged[kind], now - last < intervalNanoseconds {
            suppressed[kind, default: 0] += 1
            return nil
        }
        lastLogged[kind] = now
        return suppressed.removeValue(forKey: kind) ?? 0
    }

    /// The condition ended: the next occurrence logs at once.
    public mutating func clear(_ kind: String) {
        lastLogged[kind] = nil
        suppressed[kind] = nil
    }
}

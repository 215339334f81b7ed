/// One line of the daemon's plain-text log (vmclockd's PlainTextLogHandler):
/// "2026-11-25T09:10:51.123456Z info     message", the stamp CLOCK_REALTIME
/// when it logged (UTC, µs), the level padded to a column. The one reader of
/// that format for the tests and the benchmark's phases and soak.
public struct LogLine: Sendable, CustomStringConvertible {
    /// When it was logged, ns since the epoch (µs resolution).
    public var stamp: Int64
    /// "trace", "debug", "info", "notice", "warning", "error" or "critical".
    public var level: String
    public var message: String
    /// The whole line, as written.
    public var text: String

    public init?(_ line: String) {
        guard let stamp = Self.stamp(line) else { return nil }
        let rest = line.utf8.dropFirst(28)
        guard let space = rest.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        self.stamp = stamp
        level = String(decoding: rest[..<space], as: UTF8.self)
        message = String(decoding: rest[space...].drop { $0 == UInt8(ascii: " ") }, as: UTF8.self)
        text = line
    }

    public var description: String { text }

    /// The leading stamp, "2026-11-25T09:10:51.123456Z" (UTC, µs), as ns since the epoch.
    static func stamp(_ line: String) -> Int64? {
        let text = Array(line.utf8.prefix(27))
        guard text.count == 27, text[4] == UInt8(ascii: "-"), text[10] == UInt8(ascii: "T"), text[19] == UInt8(ascii: "."),
            text[26] == UInt8(ascii: "Z")
        else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in text[range] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19), let micro = number(20..<26)
        else { return nil }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second
        return seconds * 1_000_000_000 + micro * 1000
    }
}

/// A log line's stamp (`LogLine.stamp`), ns since the epoch; nil if it is not one of the daemon's lines.
public func logStamp(_ line: String) -> Int64? { LogLine.stamp(line) }

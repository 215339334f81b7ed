#if canImport(Glibc)
import Glibc
#endif
import Logging
import VMClockAccess
import VMClockPage

/// Readable lines on standard error for when vmclockd runs outside systemd:
/// UTC time to the microsecond (reaction times are read off these), level
/// and message. The structured fields go to the journal only.
public struct PlainTextLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let write: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void = PlainTextLogHandler.standardError) {
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let now = SystemClock.realtime()
        let date = CivilDate(secondsSinceEpoch: now.seconds)
        let second = now.seconds - date.startOfDaySeconds
        let stamp = "\(date.year)-\(pad(date.month, 2))-\(pad(date.day, 2))T\(pad(second / 3600, 2)):\(pad(second / 60 % 60, 2)):\(pad(second % 60, 2)).\(pad(now.nanoseconds / 1000, 6))Z"
        write("\(stamp) \(event.level) \(event.message)\n")
    }

    public static let standardError: @Sendable (String) -> Void = { line in
        var bytes = Array(line.utf8)
        _ = Glibc.write(2, &bytes, bytes.count)
    }
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let text = String(value)
    return String(repeating: "0", count: max(0, width - text.count)) + text
}

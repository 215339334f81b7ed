#if canImport(Glibc)
import Glibc
#endif
import CSystemd
import Logging
import SystemPackage

/// A swift-log handler writing to journald natively (sd_journal_sendv), with
/// the message's metadata as structured fields: `state` → VMCLOCKD_STATE,
/// `message_id` → MESSAGE_ID, and so on.
public struct JournalLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let sink: @Sendable ([String]) -> Void

    /// `sink` receives each entry's fields ("KEY=value"); by default journald.
    public init(sink: @escaping @Sendable ([String]) -> Void = JournalLogHandler.journald) {
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        sink(Self.fields(for: event, metadata: metadata))
    }

    /// The journal fields of one entry.
    public static func fields(for event: LogEvent, metadata base: Logger.Metadata) -> [String] {
        var fields = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(priority(event.level))",
            "SYSLOG_IDENTIFIER=vmclockd",
        ]
        for (key, value) in base.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }).sorted(by: { $0.key < $1.key }) {
            fields.append("\(fieldName(key))=\(value)")
        }
        return fields
    }

    /// syslog priorities: swift-log has no "alert"/"emergency" and one more
    /// level below debug (trace), which maps to debug.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// `message_id` is journald's own MESSAGE_ID; everything else is ours.
    static func fieldName(_ key: String) -> String {
        key == "message_id" ? "MESSAGE_ID" : "VMCLOCKD_" + key.uppercased()
    }

    public static let journald: @Sendable ([String]) -> Void = { fields in
        // Each field in its own buffer, alive until sd_journal_sendv returns.
        let buffers = fields.map { field in
            let bytes = Array(field.utf8)
            let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
            _ = buffer.initialize(from: bytes)
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        var vectors = buffers.map { iovec(iov_base: UnsafeMutableRawPointer($0.baseAddress), iov_len: $0.count) }
        _ = sd_journal_sendv(&vectors, Int32(vectors.count))
    }

    /// True when standard error is connected to the journal (systemd sets
    /// JOURNAL_STREAM to its device and inode): log natively then.
    public static var standardErrorIsJournal: Bool {
        guard let value = getenv("JOURNAL_STREAM").map({ String(cString: $0) }) else { return false }
        guard let info = try? FileDescriptor.standardError.stat() else { return false }
        return value == "\(info.deviceID.rawValue):\(info.inode.rawValue)"
    }
}

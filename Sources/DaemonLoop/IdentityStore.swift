#if canImport(Glibc)
import Glibc
#endif
import DaemonCore
import VMClockSystem

/// Where the daemon keeps the page identity chronyd's history belongs to,
/// so a disruption while it was not running (a restart, an upgrade, a
/// watchdog kill) is still passed on. The default lives under /run: it
/// survives a restart of the service (the unit preserves its runtime
/// directory) but not a reboot, after which chronyd's history is new
/// anyway. One short line, replaced atomically (write, fsync, rename).
public struct IdentityStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The identity an earlier run left; nil if none or unreadable.
    public func load() -> PageIdentity? {
        guard let line = try? AtomicFile.read(path, limit: 256), !line.isEmpty else { return nil }
        return PageIdentity(line: line)
    }

    /// Replaces the stored identity.
    public func save(_ identity: PageIdentity) throws(AtomicFile.Failure) {
        try AtomicFile.replace(path, with: identity.line, mode: 0o640, durable: true)
    }
}

extension PageIdentity {
    /// "vmclockd-identity 1 marker=… generation=…|- counter_id=… size=… version=…\n"
    var line: String {
        "vmclockd-identity 1 marker=\(disruptionMarker) generation=\(vmGenerationCounter.map(String.init) ?? "-") "
            + "counter_id=\(counterID) size=\(size) version=\(version)\n"
    }

    /// Parses `line`; nil for anything else (never a guess).
    init?(line: String) {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard words.count == 7, words[0] == "vmclockd-identity", words[1] == "1" else { return nil }
        var fields: [Substring: Substring] = [:]
        for word in words.dropFirst(2) {
            let parts = word.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            fields[parts[0]] = parts[1]
        }
        guard let marker = fields["marker"].flatMap({ UInt64($0) }), let generation = fields["generation"],
            let counterID = fields["counter_id"].flatMap({ UInt8($0) }),
            let size = fields["size"].flatMap({ UInt32($0) }), let version = fields["version"].flatMap({ UInt16($0) })
        else { return nil }
        let vmGeneration: UInt64?
        if generation == "-" { vmGeneration = nil } else {
            guard let value = UInt64(generation) else { return nil }
            vmGeneration = value
        }
        self.init(disruptionMarker: marker, vmGenerationCounter: vmGeneration, counterID: counterID, size: size, version: version)
    }
}

/// Keeps the stored identity in step with the one chronyd's history is
/// confirmed to belong to, writing only when it changes.
final class IdentityKeeper {
    private let store: IdentityStore
    private let log: DaemonLog
    private(set) var stored: PageIdentity?

    init(store: IdentityStore, log: DaemonLog) {
        self.store = store
        self.log = log
        stored = store.load()
    }

    func keep(_ confirmed: PageIdentity?, now: Int64) {
        guard let confirmed, confirmed != stored else { return }
        do throws(AtomicFile.Failure) {
            try store.save(confirmed)
            stored = confirmed
        } catch {
            log.rateLimited("state-file", now: now, .error,
                            "cannot write \(store.path) (errno \(error.errno.rawValue)): a disruption while vmclockd is stopped would go unnoticed")
        }
    }
}

import VMClockSystem

/// The chrony config file holding vmclockd's refclock line. The package does
/// not ship it: `chrony-config --write` makes it from the daemon's own
/// settings before every chronyd start, and `run --check-chrony-snippet`
/// refuses to start a daemon whose settings are no longer the ones chronyd
/// read (the settings were edited and only vmclockd was restarted).
enum ChronySnippet {
    static func text(line: String, source: String) -> String {
        """
        # chronyd's side of vmclockd, written by `vmclockd chrony-config --write`
        # from \(source). Do not edit: change the settings there and restart
        # chronyd; the package's drop-in for chronyd's unit writes this file
        # again before chronyd starts.
        \(line)

        """
    }

    /// Replaces `path` atomically (AtomicFile): readers (chronyd starting)
    /// see the old file or the new one, never part of one. Mode 0644.
    static func write(_ text: String, to path: String) throws(AtomicFile.Failure) {
        try AtomicFile.replace(path, with: text, mode: 0o644, durable: true)
    }

    /// Fine when `path` is missing or has no refclock line (chronyd configured
    /// by hand elsewhere); an error when its refclock line is not `line`.
    static func check(_ path: String, against line: String) throws(UsageError) {
        let text: String
        do throws(ConfigFile.ReadError) {
            text = try ConfigFile.read(path)
        } catch let error where error.errno == .noSuchFileOrDirectory {
            return
        } catch {
            throw UsageError("\(path): cannot read chronyd's refclock line: \(error)")
        }
        let refclocks = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { String($0.drop { $0 == " " || $0 == "\t" }) }
            .filter { $0.hasPrefix("refclock ") }
        guard let found = refclocks.first, !refclocks.contains(line) else { return }
        throw UsageError("""
            \(path) gives chronyd '\(found)', but these settings need '\(line)': \
            chronyd was started before the settings changed. Restart chronyd (its unit writes \(path) \
            again from /etc/vmclockd.conf before it starts), and vmclockd starts with it
            """)
    }
}

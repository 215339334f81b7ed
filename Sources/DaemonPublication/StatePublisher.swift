#if canImport(Glibc)
import Glibc
#endif
import DaemonCore
import VMClockSystem

/// Writes the snapshot where readers find it: the status file (JSON) and
/// the metrics file (Prometheus text), each replaced atomically. At once on
/// a change an operator or `vmclockd wait` acts on, otherwise every
/// --publish-interval (10 s; at most once a sample): the counts may lag by that
/// much, ages are computed by the reader, and a rewrite a second cost over a
/// third of the idle daemon's CPU (two documents built, two renames). Mode 0644: they hold
/// nothing that chronyd does not tell every local user (`chronyc tracking`
/// and `sources` over 127.0.0.1), and node_exporter reads them as its own user.
package final class StatePublisher {
    static let mode: mode_t = 0o644

    private let statusPath: String?
    private let metricsPath: String?
    /// Told of each write: the file (`status`, `metrics`) and why it failed,
    /// nil once it succeeds again (the loop logs, rate-limited).
    private let report: (_ what: String, _ problem: String?, _ now: Int64) -> Void
    private let intervalNanoseconds: Int64
    private var nextDue: Int64 = 0

    package init(configuration: DaemonConfiguration, report: @escaping (_ what: String, _ problem: String?, _ now: Int64) -> Void) {
        (statusPath, metricsPath, self.report) = (configuration.statusFilePath, configuration.metricsFilePath, report)
        intervalNanoseconds = Int64(max(configuration.publishInterval, configuration.sampleInterval) * 1e9)
    }

    package var isEnabled: Bool { statusPath != nil || metricsPath != nil }

    /// When the next unforced publication falls due (for the loop's wait).
    package var deadline: Int64? { isEnabled ? nextDue : nil }

    package func isDue(now: Int64, changed: Bool) -> Bool { isEnabled && (changed || now >= nextDue) }

    package func publish(_ snapshot: DaemonSnapshot, now: Int64) {
        nextDue = now + intervalNanoseconds
        if let statusPath { write(statusPath, snapshot.json.text + "\n", what: "status", now: now) }
        if let metricsPath { write(metricsPath, snapshot.metricsText, what: "metrics", now: now) }
    }

    /// On a clean stop: no file claims a running daemon.
    package func withdraw() {
        for path in [statusPath, metricsPath].compactMap({ $0 }) { unlink(path) }
    }

    private func write(_ path: String, _ contents: String, what: String, now: Int64) {
        do throws(AtomicFile.Failure) {
            try AtomicFile.replace(path, with: contents, mode: Self.mode, durable: false)
            report(what, nil, now)
        } catch {
            report(what, "cannot write the \(what) file \(path): \(error.errno); 'vmclockd status' and metrics will not show this daemon (check that its directory exists and is writable, or set \(what)-file)", now)
        }
    }
}

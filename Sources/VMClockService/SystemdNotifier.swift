import CSystemd

/// The service manager's side channel (sd_notify): readiness, a one-line
/// status, reload and stop announcements, and the watchdog. Every call is a
/// no-op when NOTIFY_SOCKET is not set (not started by systemd).
public struct SystemdNotifier: Sendable {
    public init() {}

    public func ready() { send("READY=1") }
    public func status(_ line: String) { send("STATUS=\(line)") }
    public func reloading() { send("RELOADING=1") }
    public func stopping() { send("STOPPING=1") }
    public func watchdog() { send("WATCHDOG=1") }

    /// Half of WATCHDOG_USEC when the service has a watchdog for this
    /// process, as systemd recommends; nil otherwise.
    public var watchdogPingInterval: Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds / 2))
    }

    private func send(_ state: String) {
        _ = sd_notify(0, state)
    }
}

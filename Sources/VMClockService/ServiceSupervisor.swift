#if canImport(Glibc)
import Glibc
#endif
import VMClockAccess
import DaemonCore
import DaemonLoop

/// Keeps systemd informed while the daemon runs: READY=1 once the device is
/// open and the first verdict is made, STATUS= whenever its one-line summary
/// changes, WATCHDOG=1 every half watchdog interval — sent from the main
/// loop's own pass, so a stuck loop stops the pings — RELOADING=1 on SIGHUP
/// and STOPPING=1 on the way out.
public final class ServiceSupervisor {
    private let notifier = SystemdNotifier()
    private let watchdogNanoseconds: Int64?
    private var nextWatchdog: Int64 = 0
    private var ready = false
    private var lastStatus = ""
    private var lastStatusInputs: (state: DaemonState, samples: Int, marker: UInt64?)?

    /// True when a service manager listens (NOTIFY_SOCKET is set): only then
    /// is there anyone to tell.
    public static var isSupervised: Bool { getenv("NOTIFY_SOCKET") != nil }

    public init() {
        watchdogNanoseconds = notifier.watchdogPingInterval.map { duration in
            let (seconds, attoseconds) = duration.components
            return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        }
    }

    public func attach(to runner: DaemonRunner) {
        runner.onLook = { [self] runner in looked(runner) }
        runner.onReload = { [self] in
            notifier.reloading()
            ready = false  // READY=1 again after the next look: reload done
        }
    }

    public func stopping() { notifier.stopping() }

    private func looked(_ runner: DaemonRunner) {
        let now = SystemClock.monotonicNanoseconds()
        if let watchdogNanoseconds, now >= nextWatchdog {
            notifier.watchdog()
            nextWatchdog = now + watchdogNanoseconds
        }
        if !ready, runner.deviceIsOpen, runner.core.state != .starting {
            ready = true
            notifier.ready()
        }
        // The line only changes with the state, a new sample or the marker
        // (a disruption-only page changes nothing else): build it then.
        let inputs = (state: runner.core.state, samples: runner.statistics.samplesSent, marker: runner.core.identity?.disruptionMarker)
        if let last = lastStatusInputs, last.state == inputs.state, last.samples == inputs.samples, last.marker == inputs.marker { return }
        lastStatusInputs = inputs
        let status = Self.statusLine(runner)
        if status != lastStatus {
            lastStatus = status
            notifier.status(status)
        }
    }

    /// "tracking; offset +3200.4 µs ±10.1 µs; marker 4972105639017538394".
    static func statusLine(_ runner: DaemonRunner) -> String {
        var parts = [runner.core.state.label]
        if runner.core.state == .tracking, let last = runner.lastSent {
            parts.append("offset \(microseconds(last.offsetNanoseconds, signed: true)) ±\(microseconds(Int128(last.boundNanoseconds), signed: false))")
        }
        if let identity = runner.core.identity { parts.append("marker \(identity.disruptionMarker)") }
        return parts.joined(separator: "; ")
    }

    private static func microseconds(_ nanoseconds: Int128, signed: Bool) -> String {
        let tenths = (nanoseconds.magnitude + 50) / 100
        let sign = nanoseconds < 0 ? "-" : (signed ? "+" : "")
        return "\(sign)\(tenths / 10).\(tenths % 10) µs"
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CVMClockCounter

/// SIGTERM, SIGINT and SIGHUP: blocked, except inside the loop's one wait,
/// which they end at once (ppoll with `waitMask`). No handler does more than
/// note the signal; the loop acts on it.
struct SignalWatcher {
    enum Request: Equatable { case stop(Int32), reopen }

    /// The signal mask to wait under: the three unblocked.
    private(set) var waitMask = sigset_t()

    init() {
        let signals: [Int32] = [SIGTERM, SIGINT, SIGHUP]
        _ = signals.withUnsafeBufferPointer { vmclock_signals_install($0.baseAddress, Int32($0.count), &waitMask) }
    }

    /// Signals that arrived since the last call: a stop wins over a reopen.
    func pending() -> Request? {
        let taken = vmclock_signals_take()
        guard taken != 0 else { return nil }
        for signal in [SIGTERM, SIGINT] where taken & (1 << UInt64(signal)) != 0 { return .stop(signal) }
        return .reopen
    }
}

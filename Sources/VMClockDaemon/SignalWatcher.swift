#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM, SIGINT and SIGHUP, blocked and collected synchronously by the
/// main loop: no handler runs in signal context, and the loop, which never
/// waits longer than 50 ms, sees a signal within that time.
struct SignalWatcher {
    enum Request: Equatable { case stop(Int32), reopen }

    private var set = sigset_t()

    init() {
        sigemptyset(&set)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Signals that arrived since the last call.
    mutating func pending() -> [Request] {
        var requests: [Request] = []
        var zero = timespec(tv_sec: 0, tv_nsec: 0)
        var info = siginfo_t()
        while true {
            let signal = sigtimedwait(&set, &info, &zero)
            guard signal > 0 else { return requests }
            requests.append(signal == SIGHUP ? .reopen : .stop(signal))
        }
    }
}

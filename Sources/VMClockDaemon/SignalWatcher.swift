#if canImport(Glibc)
import Glibc
#endif
import CVMClockCounter

/// SIGTERM, SIGINT and SIGHUP, blocked and read from a signalfd that the
/// main loop waits on with everything else: no handler runs in signal
/// context, and a signal wakes the loop at once.
struct SignalWatcher {
    enum Request: Equatable { case stop(Int32), reopen }

    let descriptor: Int32

    init() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        descriptor = signalfd(-1, &set, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
    }

    /// Signals that arrived since the last call.
    func pending() -> [Request] {
        var requests: [Request] = []
        var info = signalfd_siginfo()
        while read(descriptor, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            let signal = Int32(info.ssi_signo)
            requests.append(signal == SIGHUP ? .reopen : .stop(signal))
        }
        return requests
    }
}

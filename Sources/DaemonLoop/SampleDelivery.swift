import ChronyClients
import ChronyProtocol
import DaemonCore
import Logging

/// Sends samples to chronyd's refclock socket. A missing socket (chronyd
/// stopped or restarting) is retried with backoff from one sample interval
/// to a second, so a restarted chronyd is fed within a second of its socket
/// reappearing; every trouble is logged once a minute with what to do.
final class SampleDelivery {
    struct Counts: Sendable, Equatable {
        var sent = 0
        var droppedFull = 0
        var unsent = 0
    }

    private let refclock: RefclockSocket
    private let configuration: DaemonConfiguration
    private let log: DaemonLog
    private(set) var counts = Counts()
    private var trouble = false
    private var backoff: Backoff
    static let backoffLimit: Int64 = 1_000_000_000

    init(configuration: DaemonConfiguration, log: DaemonLog) throws {
        self.configuration = configuration
        self.log = log
        backoff = Backoff(first: Int64(configuration.sampleInterval * 1e9), limit: Self.backoffLimit)
        refclock = try RefclockSocket(path: configuration.refclockSocketPath)
    }

    /// A sample computed but not sent because the page changed under it:
    /// counted here, with every other unsent one, so the total only grows.
    func skipStale() { counts.unsent += 1 }

    /// Sends `built` unless backing off; true if chronyd's socket took it.
    func deliver(_ built: SampleBuilder.Built, now: Int64) -> Bool {
        guard !backoff.isWaiting(now: now) else {
            counts.unsent += 1
            return false
        }
        let path = configuration.refclockSocketPath
        switch refclock.send(built.sample) {
        case .sent:
            counts.sent += 1
            backoff.succeeded()
            if trouble {
                trouble = false
                log.cleared("refclock-absent", "refclock-full", "refclock-denied", "refclock-failed")
                log.log(.notice, "samples are reaching chronyd again")
            }
            return true
        case .noListener(let errno):
            backoff.failed(now: now)
            fail(&counts.unsent, "refclock-absent", now, .warning,
                 "chronyd's refclock socket \(path) is not there (\(errno)): is chronyd running with '\(configuration.chronyRefclockLine)'? Retrying, at least once a second.")
        case .full:
            fail(&counts.droppedFull, "refclock-full", now, .warning, "chronyd's refclock socket is full: sample dropped")
        case .permissionDenied:
            fail(&counts.unsent, "refclock-denied", now, .error,
                 "permission denied on \(path): chronyd creates it as root; run vmclockd as root or with CAP_DAC_OVERRIDE")
        case .failed(let errno):
            fail(&counts.unsent, "refclock-failed", now, .error, "sending to \(path) failed: \(errno)")
        }
        return false
    }

    private func fail(_ count: inout Int, _ kind: String, _ now: Int64, _ level: Logger.Level, _ message: String) {
        trouble = true
        count += 1
        log.rateLimited(kind, now: now, level, message)
    }
}

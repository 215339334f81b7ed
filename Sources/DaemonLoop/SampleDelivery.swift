import ChronyClients
import ChronyProtocol
import DaemonCore
import DaemonPublication
import Logging

/// Sends samples to chronyd's refclock socket. A missing socket (chronyd
/// stopped or restarting) is retried with backoff from one sample interval
/// to a second, so a restarted chronyd is fed within a second of its socket
/// reappearing; every trouble is logged once a minute with what to do.
/// What became of each sample is the caller's to count (the ledger).
final class SampleDelivery {
    private let refclock: RefclockSocket
    private let configuration: DaemonConfiguration
    private let log: DaemonLog
    private var trouble = false
    private var backoff: Backoff
    static let backoffLimit: Int64 = 1_000_000_000

    init(configuration: DaemonConfiguration, log: DaemonLog) throws {
        self.configuration = configuration
        self.log = log
        backoff = Backoff(first: Int64(configuration.sampleInterval * 1e9), limit: Self.backoffLimit)
        refclock = try RefclockSocket(path: configuration.refclockSocketPath)
    }

    /// Sends `built` unless backing off: what became of it.
    func deliver(_ built: SampleBuilder.Built, now: Int64) -> DaemonLedger.SampleOutcome {
        guard !backoff.isWaiting(now: now) else { return .unsent }
        let path = configuration.refclockSocketPath
        switch refclock.send(built.sample) {
        case .sent:
            backoff.succeeded()
            if trouble {
                trouble = false
                log.cleared("refclock-absent", "refclock-full", "refclock-denied", "refclock-failed")
                log.log(.notice, "samples are reaching chronyd again")
            }
            return .sent(built, at: .at(monotonic: now))
        case .noListener(let errno):
            backoff.failed(now: now)
            return fail(.unsent, "refclock-absent", now, .warning,
                 "chronyd's refclock socket \(path) is not there (\(errno)): is chronyd running with '\(configuration.chronyRefclockLine)'? Retrying, at least once a second.")
        case .full:
            return fail(.dropped, "refclock-full", now, .warning, "chronyd's refclock socket is full: sample dropped")
        case .permissionDenied:
            return fail(.unsent, "refclock-denied", now, .error,
                 "permission denied on \(path): chronyd creates it as root; run vmclockd as root or with CAP_DAC_OVERRIDE")
        case .failed(let errno):
            return fail(.unsent, "refclock-failed", now, .error, "sending to \(path) failed: \(errno)")
        }
    }

    private func fail(
        _ outcome: DaemonLedger.SampleOutcome, _ kind: String, _ now: Int64, _ level: Logger.Level, _ message: String
    ) -> DaemonLedger.SampleOutcome {
        trouble = true
        log.rateLimited(kind, now: now, level, message)
        return outcome
    }
}

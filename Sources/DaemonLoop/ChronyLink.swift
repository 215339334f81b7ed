import ChronyClients
import ChronyProtocol
import DaemonCore
import VMClockAccess
import VMClockPage

/// The daemon's conversation with chronyd's command socket: the director
/// picks the requests, the channel carries them without blocking, and every
/// outcome is logged here. What the state machine must learn comes back as
/// a `Fact` for the runner to hand on.
final class ChronyLink {
    enum Fact: Equatable {
        case resetAcknowledged(disruption: Int)
        /// An attempt at the reset chronyd did not acknowledge (it is retried).
        case resetFailed
        case tracking(correctionSeconds: Double, referenceAgeSeconds: Double, synchronised: Bool)
        /// What chronyd says of VMCK, for the operator (once a second).
        case vmck(ChronydView)
    }

    private let channel: ControlChannel
    private var director = ChronyDirector()
    private let log: DaemonLog
    private let configuration: DaemonConfiguration

    init(configuration: DaemonConfiguration, log: DaemonLog) {
        self.configuration = configuration
        self.log = log
        channel = ControlChannel(serverPath: configuration.controlSocketPath, clientPath: configuration.controlReplySocketPath)
    }

    /// The reply socket to wait on while a request is out.
    var descriptor: Int32? { channel.descriptor }
    /// nil until chronyd has answered a selectopts.
    var selectionSupported: Bool? { director.selectionSupported }

    /// When the loop must wake for chronyd: a reply timeout or a retry.
    func deadline(_ wants: ChronyDirector.Wants) -> Int64? {
        let retry = director.nextRetry(wants)
        guard let reply = channel.deadline else { return retry }
        return min(reply, retry ?? .max)
    }

    func enqueue(_ command: ControlCommand) { director.enqueue(command) }

    /// Sends what is due now (one request in flight at a time).
    func drive(_ wants: ChronyDirector.Wants, now: Int64, _ learn: (Fact) -> Void) {
        while let command = director.next(wants, now: now) {
            guard let outcome = channel.start(command, now: now) else { return }
            handle(outcome, now: now, learn)
        }
    }

    /// The reply socket is readable, or the loop woke for another reason:
    /// a reply that arrived, or a request that timed out, is handled.
    func service(readable: Bool, now: Int64, _ learn: (Fact) -> Void) {
        if readable, let outcome = channel.readable() { handle(outcome, now: now, learn) }
        if channel.foreignDatagrams != foreignSeen { logForeign(now: now) }
        if let outcome = channel.timeUp(now: now) { handle(outcome, now: now, learn) }
    }

    /// Datagrams on the reply socket from anyone but chronyd's command
    /// socket (root, or another process of chronyd's user): never replies.
    private var foreignSeen = 0

    private func logForeign(now: Int64) {
        foreignSeen = channel.foreignDatagrams
        log.rateLimited("reply-foreign", now: now, .warning,
                        "ignored a datagram on the reply socket from \(channel.lastForeignSender), not from chronyd's command socket \(channel.serverPath) (\(foreignSeen) so far): a local process other than chronyd, running as root or as chronyd's user, writes to it")
    }

    private func handle(_ outcome: ControlOutcome, now: Int64, _ learn: (Fact) -> Void) {
        guard let event = director.completed(outcome, now: now) else { return }
        switch event {
        case .resetAcknowledged(let first, let last, let attempts):
            learn(.resetAcknowledged(disruption: last))
            log.cleared("reset-failed")
            let which = first == last ? "disruption \(last)" : "disruptions \(first)–\(last)"
            log.log(.notice, "chronyd acknowledged 'reset sources' for \(which)"
                    + (attempts > 1 ? " (attempt \(attempts))" : ""), metadata: JournalFields.messageID(.resetAcknowledged))
        case .resetFailed(let disruption, let attempts, let failure):
            learn(.resetFailed)
            // Why the reset is owed, for `vmclockd status`: the VMCK query,
            // which would say so, is not asked while a reset is owed.
            if case .refused = failure {} else {
                learn(.vmck(ChronydView(askedAtMonotonic: now, outcome: .unreachable(failure.description))))
            }
            log.rateLimited("reset-failed", now: now, .error,
                            "chronyd has not acknowledged 'reset sources' for disruption \(disruption) (attempt \(attempts)): \(failure); holding, retrying every 5 s at most")
        case .selectionApplied(let selectable):
            log.log(.info, selectable ? "chronyd may select VMCK again (selectopts -noselect)" : "chronyd told not to select VMCK while holding (selectopts +noselect)")
        case .selectionUnsupported:
            log.log(.warning, "chronyd does not know selectopts (chrony older than 4.4): \(Self.oldChronydHold(configuration))")
        case .selectionFailed(let failure):
            log.rateLimited("selection-failed", now: now, .warning, "chronyd 'selectopts' failed: \(failure); retrying")
        case .failed(.burst, .refused(_, .noSuchSource)):
            log.log(.info, "chronyd has no NTP sources to burst")
        case .failed(.tracking, let failure):
            // Only ever a question (is a step needed, is chronyd synchronised
            // at start); each asker gives up after its patience, in a line of
            // its own: chronyd's absence is already said by what must happen.
            log.rateLimited("control-tracking", now: now, .debug, "chronyd's tracking report could not be had: \(failure)")
        case .failed(let command, let failure):
            log.rateLimited("control-\(command.code)", now: now, .error, "chronyd '\(command)' failed: \(failure)")
        case .done(.reselect):
            log.log(.info, "chronyd reselected its sources")
        case .done(let command):
            log.log(.notice, "chronyd: \(command) done")
        case .tracking(let tracking):
            // A reference time that is no Int64 (a reply's ref_time past
            // 2^63 s) says nothing of its age: no fact, and no trap.
            guard let seconds = Int64(exactly: tracking.referenceTime.rounded(.down)) else { break }
            let age = SystemClock.realtime().seconds(since: Timestamp(seconds: seconds, nanoseconds: 0))
            learn(.tracking(correctionSeconds: tracking.currentCorrection, referenceAgeSeconds: age, synchronised: tracking.isSynchronised))
        case .vmckSource(let report, let askedAt):
            learn(.vmck(ChronydView(askedAtMonotonic: askedAt, outcome: report.map { .source($0) } ?? .noSource)))
            // Informational: a line a minute at most, whatever the cause.
            if report == nil {
                log.rateLimited("vmck-absent", now: now, .info,
                                "chronyd has no refclock with refid \(DaemonConfiguration.refid): is it configured with '\(configuration.chronyRefclockLine)'?")
            }
        case .vmckSourceFailed(let failure, let askedAt):
            learn(.vmck(ChronydView(askedAtMonotonic: askedAt, outcome: .unreachable(failure.description))))
            log.rateLimited("vmck-query", now: now, .info, "asking chronyd about \(DaemonConfiguration.refid) failed: \(failure)")
        }
    }

    /// What a hold means on a chronyd without selectopts.
    static func oldChronydHold(_ configuration: DaemonConfiguration) -> String {
        "it keeps using VMCK's last samples until its reach register empties, about 8 refclock polls (\(configuration.oldChronydHoldSeconds) s at poll \(configuration.chronyPoll)); upgrade chrony to 4.4 or later for an immediate hold"
    }
}

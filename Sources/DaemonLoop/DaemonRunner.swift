#if canImport(Glibc)
import Glibc
#endif
import ChronyProtocol
import DaemonCore
import DaemonPublication
import Logging
import VMClockAccess
import VMClockPage
import VMClockSystem

/// The daemon's loop, one thread: it sleeps in a single wait on everything
/// that can wake it (signals, chronyd's replies, the device where it
/// notifies, the next look), looks at the page when a look is due, feeds the
/// look to the state machine, sends the sample it justifies, and keeps
/// chronyd in step. Each of those jobs is its own type; this one only
/// orders them. In steady state a pass allocates nothing.
public final class DaemonRunner {
    private var core: DaemonCore
    private let configuration: DaemonConfiguration
    private let log: DaemonLog
    private let reader: PageReader
    private let delivery: SampleDelivery
    private let chrony: ChronyLink
    private var signals = SignalWatcher()
    private var waiting = LoopWait()
    private let identities: IdentityKeeper?
    private var socketDirectories: SocketDirectoryWatch
    /// Where the counter is the TSC: whether the kernel still trusts it.
    private let tsc: KernelTSCWatch?
    private let publisher: StatePublisher
    /// ClockBound's segment: what applications are told (nil: not written).
    private let applications: SegmentPublisher?
    /// When the page was last looked at (monotonic): the instant a
    /// measured bound holds at.
    private var lastLookAt: Int64 = 0
    /// What the daemon did, each event counted once, here.
    private var ledger: DaemonLedger
    private let process = ProcessIdentity.current()
    /// A sample has reached chronyd since the state became tracking.
    private var flowing = false
    /// Called after every look at the page (systemd status and watchdog).
    public var onLook: ((Looked) -> Void)?
    /// Called on SIGHUP, before the device is reopened.
    public var onReload: (() -> Void)?

    /// What a look leaves for systemd: the state machine's verdict and the
    /// ledger, handed over as values.
    public struct Looked: Sendable {
        public let state: DaemonState
        public let disruptionMarker: UInt64?
        /// The look found the device open (whatever its page said).
        public let deviceIsOpen: Bool
        package let ledger: DaemonLedger.Record
    }

    public init(configuration: DaemonConfiguration, logger: Logger) throws {
        self.configuration = configuration
        let log = DaemonLog(logger: logger)
        self.log = log
        identities = configuration.stateFilePath.map { IdentityKeeper(store: IdentityStore(path: $0), log: log) }
        core = DaemonCore(configuration: configuration, nativeCounter: Counter.native, remembered: identities?.stored)
        reader = try PageReader(path: configuration.devicePath, notificationPath: configuration.notificationDevicePath)
        delivery = try SampleDelivery(configuration: configuration, log: log)
        chrony = ChronyLink(configuration: configuration, log: log)
        socketDirectories = SocketDirectoryWatch(
            socketPaths: [configuration.refclockSocketPath, configuration.controlSocketPath])
        publisher = StatePublisher(configuration: configuration) { what, problem, now in
            if let problem { log.rateLimited("publish-\(what)", now: now, .warning, problem) } else { log.cleared("publish-\(what)") }
        }
        applications = SegmentPublisher(configuration: configuration, log: log)
        tsc = Counter.native == .x86TSC ? configuration.clocksourceListPath.map(KernelTSCWatch.init) : nil
        ledger = DaemonLedger(started: .at())
        log.metadata = { [unowned self] in metadata() }
        if let stored = identities?.stored {
            log.log(.info, "page identity from an earlier run: marker \(stored.disruptionMarker); a change is a disruption")
        }
    }

    /// Why the loop stopped.
    public enum Stop: Equatable, Sendable {
        /// SIGTERM or SIGINT.
        case signal(Int32)
        /// A directory of chronyd's sockets was deleted while still in this
        /// process's view (see SocketDirectoryWatch): only a new process,
        /// with a new view, can reach chronyd again.
        case socketDirectoryDeleted(String)
    }

    /// Runs until SIGTERM or SIGINT, or until chronyd's socket directory is
    /// gone from this process's view.
    public func run() -> Stop {
        var schedule = LookSchedule(
            watchInterval: configuration.watchInterval, sampleInterval: configuration.sampleInterval,
            now: SystemClock.monotonicNanoseconds())
        while true {
            let now = SystemClock.monotonicNanoseconds()
            if schedule.isDue(now) || reader.notifications.updated {
                look(sampleDue: schedule.begin(now), now: now)
                lastLookAt = now
                schedule.end(now, pace: pace)
                onLook?(Looked(state: core.state, disruptionMarker: core.identity?.disruptionMarker,
                               deviceIsOpen: reader.deviceIsOpen, ledger: ledger.record))
            }
            if let directory = socketDirectories.deletedDirectory(now: now) {
                log.log(.notice, "\(directory) was deleted and cannot be seen again from this process (chronyd stopped or died); stopping: vmclockd starts again with chronyd, and sees its new directory")
                return stopping(.socketDirectoryDeleted(directory))
            }
            chrony.drive(wants, now: now, learn(_:now:))
            identities?.keep(core.confirmedIdentity, now: now)
            if let applications {
                applications.pass(core: core, lookedAt: lastLookAt, now: now)
                ledger.told(applications: applications.verdict.reason)
            }
            if publisher.isDue(now: now, changed: ledger.changed) { publish(now: now) }
            // Pairs: min of four or more takes a variadic array, allocated on every pass.
            let deadline = min(
                min(schedule.nextLook, chrony.deadline(wants) ?? .max), min(publisher.deadline ?? .max, applications?.deadline ?? .max))
            let ready = waiting.wait(
                control: chrony.descriptor, device: reader.notifications.descriptor, until: deadline, signals: &signals)
            if let stop = handleSignals() { return stopping(stop) }
            if let revents = ready.device, let message = reader.woke(revents: revents) { log.log(.notice, message) }
            chrony.service(readable: ready.control, now: SystemClock.monotonicNanoseconds(), learn(_:now:))
        }
    }

    private var pace: LookSchedule.Pace {
        if core.state == .holding(.calibrating) { return .measuring }
        return core.maintenanceAnnounced ? .maintenance : .watch
    }

    // MARK: - one look

    private func look(sampleDue: Bool, now: Int64) {
        ledger.looked()
        if let verdict = tsc?.check(now: now) { learn(verdict, now: now) }
        let (observation, reading) = reader.look()
        perform(core.observe(observation, now: now))
        if core.state != .tracking { flowing = false }
        guard sampleDue else { return }
        guard let sample = core.sample, let reading else {
            if let reason = core.state.holdReason { ledger.sample(.withheld(reason: reason.kind)) }
            return
        }
        // The page must still be the one the sample was computed from: a
        // marker change published since then must not let it out.
        let outcome = reading.isCurrent ? delivery.deliver(sample, now: now) : .unsent
        if case .sent = outcome { flowing = true }
        ledger.sample(outcome)
    }

    private func perform(_ effects: [DaemonEffect]) {
        for effect in effects {
            switch effect {
            case .log(let event):
                ledger.note(event, resetNumber: core.resetsAsked, at: .at())
                applications?.noticed(event)
                log.log(event.isWarning ? .warning : .notice, describe(event), metadata: JournalFields.messageID(event.messageID))
            case .makeStep(let correction):
                log.log(.notice, "asking chronyd to step the clock: \(correction) s still to correct after the disruption")
                chrony.enqueue(.makeStep)
            }
        }
    }

    /// The event's line, with what only the loop knows: the measured rate on
    /// a resume, and what a hold means on a chronyd without selectopts.
    private func describe(_ event: DaemonEvent) -> String {
        var message = event.message
        if case .stateChanged(_, .tracking) = event, let ppm = core.periodDisagreementPPM {
            message += " (page period within \(Self.format(ppm)) ppm of the counter rate measured against CLOCK_MONOTONIC_RAW)"
        }
        // After a disruption chronyd's reset drops VMCK's samples anyway.
        if case .stateChanged(_, .holding) = event, chrony.selectionSupported == false, core.resetOwed == nil {
            message += "; \(ChronyLink.oldChronydHold(configuration))"
        }
        return message
    }

    // MARK: - chronyd

    private var wants: ChronyDirector.Wants {
        .init(resetOwed: core.resetOwed, selectable: core.wantsSelectable && flowing, trackingReport: core.wantsTracking,
              steadyTracking: applications != nil, sourceReport: core.resetOwed == nil)
    }

    /// chronyd's answer, had at `now`: what the state machine and the
    /// ledger must know of it (the link logs it).
    private func learn(_ answer: ChronydAnswer, now: Int64) {
        switch answer {
        case .resetAcknowledged(_, let disruption, _):
            core.resetAcknowledged(disruption: disruption, now: now)
            ledger.resetAcknowledged(disruption: disruption, at: .at())
            applications?.resetAcknowledged(at: now)
        case .resetFailed: ledger.resetFailed()
        case .tracking(let tracking, let askedAt):
            // A reference time that is no Int64 (a reply's ref_time past
            // 2^63 s) says nothing of its age: nothing learnt, and no trap.
            guard let age = tracking.referenceAgeSeconds(systemNow: SystemClock.realtime()) else { break }
            let answeredAt = SystemClock.monotonicNanoseconds()
            applications?.chronyd(tracking, askedAt: askedAt, now: answeredAt,
                                  referenceAgeNanoseconds: (age * 1e9).isFinite ? Int64(exactly: (age * 1e9).rounded(.down)) : nil)
            perform(core.tracking(correctionSeconds: tracking.currentCorrection, referenceAgeSeconds: age,
                                  synchronised: tracking.isSynchronised, now: answeredAt))
        default: break
        }
        if let view = ChronydView(answer, now: now) { ledger.chronyd(.init(view)) }
    }

    /// The kernel's verdict on the TSC, for the state machine; one it cannot
    /// give (the file unreadable) holds nothing back, but is said.
    private func learn(_ verdict: KernelTSCWatch.Verdict, now: Int64) {
        switch verdict {
        case .trusted: core.kernelTSC(unstable: false)
        case .unstable: core.kernelTSC(unstable: true)
        case .unreadable(let error):
            core.kernelTSC(unstable: false)
            log.rateLimited("tsc-verdict", now: now, .warning, "cannot read \(tsc?.path ?? "?"): \(error); whether the kernel marked the TSC unstable is not checked (vmclockd needs read access to /sys)")
        }
    }

    // MARK: - publication

    /// Hands publication what it shows: the core and the ledger.
    private func publish(now: Int64) {
        publisher.publish(
            .taken(now: now, core: core, configuration: configuration, ledger: ledger.record,
                   notificationsInUse: reader.notifications.isInUse, process: process,
                   applications: applications?.published),
            now: now)
        ledger.published()
    }

    /// The loop ends: the published files go, so none claims a running daemon.
    private func stopping(_ stop: Stop) -> Stop {
        publisher.withdraw()
        applications?.withdraw()
        return stop
    }

    // MARK: - journal fields

    /// Structured fields for the journal, now.
    public func metadata(for event: DaemonEvent? = nil) -> Logger.Metadata {
        JournalFields.fields(core: core, lastSent: ledger.record.lastSample, event: event)
    }

    /// "+1.2", "-0.3", "0.0" (never "-0.0").
    private static func format(_ ppm: Double) -> String {
        let tenths = Int((ppm * 10).rounded())
        let sign = tenths > 0 ? "+" : (tenths < 0 ? "-" : "")
        return "\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }

    // MARK: - signals

    private func handleSignals() -> Stop? {
        switch signals.pending() {
        case nil: return nil
        case .stop(let signal):
            log.log(.notice, "stopping on signal \(signal)")
            return .signal(signal)
        case .reopen:
            onReload?()
            log.log(.notice, "SIGHUP: reopening \(configuration.devicePath)")
            reader.reopen()
            tsc?.checkSoon()
            return nil
        }
    }
}

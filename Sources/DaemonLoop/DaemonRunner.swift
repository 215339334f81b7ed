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
    public private(set) var core: DaemonCore
    public private(set) var statistics = Statistics()
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
    private var recorder: StateRecorder
    private let process = ProcessIdentity.current()
    /// A sample has reached chronyd since the state became tracking.
    private var flowing = false
    /// Called after every look at the page (systemd status and watchdog).
    public var onLook: ((DaemonRunner) -> Void)?
    /// Called on SIGHUP, before the device is reopened.
    public var onReload: (() -> Void)?
    /// The last look found the device open (whatever its page said).
    public var deviceIsOpen: Bool { reader.deviceIsOpen }
    /// The latest sample sent, for status lines.
    public private(set) var lastSent: SampleBuilder.Built?

    public struct Statistics: Sendable, Equatable {
        public var samplesSent = 0
        public var samplesWithheld = 0
        public var samplesDroppedFull = 0
        public var samplesUnsent = 0
        public var looks = 0
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
        tsc = Counter.native == .x86TSC ? configuration.clocksourceListPath.map(KernelTSCWatch.init) : nil
        recorder = StateRecorder(started: .at())
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
                schedule.end(now, pace: pace)
                onLook?(self)
            }
            if let directory = socketDirectories.deletedDirectory(now: now) {
                log.log(.notice, "\(directory) was deleted and cannot be seen again from this process (chronyd stopped or died); stopping: vmclockd starts again with chronyd, and sees its new directory")
                return stopping(.socketDirectoryDeleted(directory))
            }
            chrony.drive(wants, now: now, learn)
            identities?.keep(core.confirmedIdentity, now: now)
            if publisher.isDue(now: now, changed: recorder.changed) { publish(now: now) }
            let deadline = min(schedule.nextLook, chrony.deadline(wants) ?? .max, publisher.deadline ?? .max)
            let ready = waiting.wait(
                control: chrony.descriptor, device: reader.notifications.descriptor, until: deadline, signals: &signals)
            if let stop = handleSignals() { return stopping(stop) }
            if let revents = ready.device, let message = reader.woke(revents: revents) { log.log(.notice, message) }
            chrony.service(readable: ready.control, now: SystemClock.monotonicNanoseconds(), learn)
        }
    }

    private var pace: LookSchedule.Pace {
        if core.state == .holding(.calibrating) { return .measuring }
        return core.maintenanceAnnounced ? .maintenance : .watch
    }

    // MARK: - one look

    private func look(sampleDue: Bool, now: Int64) {
        statistics.looks += 1
        if let verdict = tsc?.check(now: now) { learn(verdict, now: now) }
        let (observation, reading) = reader.look()
        perform(core.observe(observation, now: now))
        if core.state != .tracking { flowing = false }
        guard sampleDue else { return }
        guard let sample = core.sample, let reading else {
            if let reason = core.state.holdReason {
                statistics.samplesWithheld += 1
                recorder.withheld(reason: reason.kind)
            }
            return
        }
        // The page must still be the one the sample was computed from: a
        // marker change published since then must not let it out.
        if !reading.isCurrent {
            delivery.skipStale()
        } else if delivery.deliver(sample, now: now) {
            lastSent = sample
            flowing = true
            recorder.sent(sample, at: .at(monotonic: now))
        }
        // One source for each count: the delivery's (a count kept here too
        // once made the metric go down when the two were copied over).
        (statistics.samplesSent, statistics.samplesDroppedFull) = (delivery.counts.sent, delivery.counts.droppedFull)
        statistics.samplesUnsent = delivery.counts.unsent
    }

    private func perform(_ effects: [DaemonEffect]) {
        for effect in effects {
            switch effect {
            case .log(let event):
                recorder.note(event, resetNumber: core.resetsAsked, at: .at())
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
              sourceReport: core.resetOwed == nil)
    }

    private func learn(_ fact: ChronyLink.Fact) {
        switch fact {
        case .resetAcknowledged(let disruption):
            core.resetAcknowledged(disruption: disruption)
            recorder.resetAcknowledged(disruption: disruption, at: .at())
        case .tracking(let correction, let age, let synchronised):
            perform(core.tracking(correctionSeconds: correction, referenceAgeSeconds: age, synchronised: synchronised,
                                  now: SystemClock.monotonicNanoseconds()))
        case .resetFailed:
            recorder.resetFailed()
        case .vmck(let view):
            recorder.chronyd(.init(view))
        }
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

    /// Hands publication what it shows: the core, the history, the counts.
    private func publish(now: Int64) {
        let counts = DaemonSnapshot.LoopCounts(
            samplesSent: statistics.samplesSent, samplesUnsent: statistics.samplesUnsent,
            samplesDroppedFull: statistics.samplesDroppedFull, looks: statistics.looks)
        publisher.publish(
            .taken(now: now, core: core, configuration: configuration, recorder: recorder, counts: counts,
                   notificationsInUse: reader.notifications.isInUse, process: process),
            now: now)
        recorder.published()
    }

    /// The loop ends: the published files go, so none claims a running daemon.
    private func stopping(_ stop: Stop) -> Stop {
        publisher.withdraw()
        return stop
    }

    // MARK: - journal fields

    /// Structured fields for the journal, now.
    public func metadata(for event: DaemonEvent? = nil) -> Logger.Metadata {
        JournalFields.fields(core: core, lastSent: lastSent, event: event)
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

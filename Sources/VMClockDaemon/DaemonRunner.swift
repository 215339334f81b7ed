#if canImport(Glibc)
import Glibc
#endif
import ChronyClients
import Logging
import VMClockAccess
import VMClockPage

/// The daemon's loop, one thread: it sleeps in a single wait on everything
/// that can wake it (signals, chronyd's replies, the device where it
/// notifies, the next look), looks at the page when a look is due, feeds
/// the look to the state machine, sends the sample it justifies, and keeps
/// chronyd in step through the director.
public final class DaemonRunner {
    public private(set) var core: DaemonCore
    public private(set) var statistics = Statistics()
    private let configuration: DaemonConfiguration
    private let log: DaemonLog
    private let device: ReopeningDevice
    private let delivery: SampleDelivery
    private let channel: ControlChannel
    private var director = ChronyDirector()
    private let signals = SignalWatcher()
    private let store: IdentityStore?
    private var stored: PageIdentity?
    private var notifications = NotificationWatch()
    private var pollSet: [pollfd] = []
    /// A sample has reached chronyd since the state became tracking.
    private var flowing = false
    /// Called after every look at the page (systemd status and watchdog).
    public var onLook: ((DaemonRunner) -> Void)?
    /// Called on SIGHUP, before the device is reopened.
    public var onReload: (() -> Void)?
    /// The last look found the device open (whatever its page said).
    public private(set) var deviceIsOpen = false
    /// The latest sample sent, for status lines.
    public private(set) var lastSent: SampleBuilder.Built?

    public struct Statistics: Sendable, Equatable {
        public var samplesSent = 0
        public var samplesWithheld = 0
        public var samplesDroppedFull = 0
        public var samplesUnsent = 0
        public var looks = 0
    }

    /// While the rate is measured (after start or a disruption) looks come
    /// this often, so samples resume within a few tens of ms.
    static let measuringLookNanoseconds: Int64 = 25_000_000

    public init(configuration: DaemonConfiguration, logger: Logger) throws {
        self.configuration = configuration
        log = DaemonLog(logger: logger)
        store = configuration.stateFilePath.map(IdentityStore.init(path:))
        stored = store?.load()
        core = DaemonCore(configuration: configuration, nativeCounter: Counter.native, remembered: stored)
        device = ReopeningDevice(path: configuration.devicePath, replacementCheckNanoseconds: 250_000_000)
        delivery = try SampleDelivery(configuration: configuration, log: log)
        channel = ControlChannel(serverPath: configuration.controlSocketPath, clientPath: configuration.controlReplySocketPath)
        pollSet.reserveCapacity(3)
        log.metadata = { [unowned self] in metadata() }
        if let stored {
            log.log(.info, "page identity from an earlier run: marker \(stored.disruptionMarker); a change is a disruption")
        }
    }

    /// Runs until SIGTERM or SIGINT; returns the signal that stopped it.
    public func run() -> Int32 {
        let watch = Int64(configuration.watchInterval * 1e9)
        let sampleEvery = Int64(configuration.sampleInterval * 1e9)
        var nextLook = SystemClock.monotonicNanoseconds()
        var nextSample = nextLook
        while true {
            let now = SystemClock.monotonicNanoseconds()
            if now >= nextLook || notifications.updated {
                let sampleDue = now >= nextSample
                if sampleDue { nextSample = max(nextSample + sampleEvery, now) }
                look(sampleDue: sampleDue, now: now)
                let measuring = core.state == .holding(.calibrating)
                nextLook = min(now + (measuring ? min(watch, Self.measuringLookNanoseconds) : watch), nextSample)
                onLook?(self)
            }
            driveChrony(now: now)
            keepIdentity(now: now)
            if let stop = wait(until: min(nextLook, channel.deadline ?? .max, director.nextRetry(wants) ?? .max)) {
                return stop
            }
        }
    }

    // MARK: - one look

    private func look(sampleDue: Bool, now: Int64) {
        statistics.looks += 1
        notifications.lookTaken()
        let (observation, reading) = observe()
        if case .unavailable = observation { deviceIsOpen = false } else { deviceIsOpen = true }
        perform(core.observe(observation, now: now), now: now)
        if core.state != .tracking { flowing = false }
        guard sampleDue else { return }
        guard let sample = core.sample, let reading else {
            if case .holding = core.state { statistics.samplesWithheld += 1 }
            return
        }
        // The page must still be the one the sample was computed from: a
        // marker change published since then must not let it out.
        guard reading.device.isUnchanged(since: reading.page) else {
            statistics.samplesUnsent += 1
            return
        }
        if delivery.deliver(sample, now: now) {
            lastSent = sample
            flowing = true
        }
        (statistics.samplesSent, statistics.samplesDroppedFull) = (delivery.counts.sent, delivery.counts.droppedFull)
        statistics.samplesUnsent = delivery.counts.unsent
    }

    private struct Reading {
        var device: VMClockDevice
        var page: VMClockPage
    }

    private func observe() -> (Observation, Reading?) {
        do {
            let device = try device.device()
            let (page, bracket) = try device.readWithSystemClock(attempts: 3, timeout: Self.snapshotTimeout)
            let raw = CrossTimestamp.measure(attempts: 3, clock: .monotonicRaw)
            notifications.noteLook(device, page)
            return (.page(page, Look(bracket: bracket, rawBracket: raw)), Reading(device: device, page: page))
        } catch let error as DeviceError {
            return (.unavailable(error), nil)
        } catch let error as SnapshotError {
            switch error {
            case .busy: return (.busy, nil)
            case .page(let pageError): return (.invalid(pageError), nil)
            case .device(let deviceError):
                self.device.close()
                return (.unavailable(deviceError), nil)
            }
        } catch {
            return (.unavailable(.unreadable(path: configuration.devicePath, errno: .ioError)), nil)
        }
    }

    /// A host update takes microseconds; a page still odd after this is
    /// "busy" for this look (the state machine decides when that means hold).
    static let snapshotTimeout: Duration = .milliseconds(1)

    private func perform(_ effects: [DaemonEffect], now: Int64) {
        for effect in effects {
            switch effect {
            case .log(let event):
                var message = event.message
                if case .stateChanged(_, .tracking) = event, let ppm = core.periodDisagreementPPM {
                    message += " (page period within \(Self.format(ppm)) ppm of the counter rate measured against CLOCK_MONOTONIC_RAW)"
                }
                // After a disruption chronyd's reset drops VMCK's samples anyway.
                if case .stateChanged(_, .holding) = event, director.selectionSupported == false, core.resetOwed == nil {
                    message += "; \(Self.oldChronydHold(configuration))"
                }
                log.log(event.isWarning ? .warning : .notice, message, metadata: Self.messageID(event.messageID))
            case .makeStep(let correction):
                log.log(.notice, "asking chronyd to step the clock: \(correction) s still to correct after the disruption")
                director.enqueue(.makeStep)
            }
        }
    }

    // MARK: - chronyd

    private var wants: ChronyDirector.Wants {
        .init(resetOwed: core.resetOwed, selectable: core.wantsSelectable && flowing, trackingReport: core.wantsTracking)
    }

    private func driveChrony(now: Int64) {
        while let command = director.next(wants, now: now) {
            guard let outcome = channel.start(command, now: now) else { return }
            handle(outcome, now: now)
        }
    }

    private func handle(_ outcome: ControlChannel.Outcome, now: Int64) {
        for event in director.completed(outcome, now: now) {
            switch event {
            case .resetAcknowledged(let first, let last, let attempts):
                core.resetAcknowledged(disruption: last)
                log.cleared("reset-failed")
                let which = first == last ? "disruption \(last)" : "disruptions \(first)–\(last)"
                log.log(.notice, "chronyd acknowledged 'reset sources' for \(which)"
                        + (attempts > 1 ? " (attempt \(attempts))" : ""), metadata: Self.messageID(.resetAcknowledged))
            case .resetFailed(let disruption, let attempts, let failure):
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
            case .failed(let command, let failure):
                log.rateLimited("control-\(command.code)", now: now, .error, "chronyd '\(command)' failed: \(failure)")
            case .done(.reselect):
                log.log(.info, "chronyd reselected its sources")
            case .done(let command):
                log.log(.notice, "chronyd: \(command) done")
            case .tracking(let tracking):
                let age = SystemClock.realtime().seconds(since: Timestamp(seconds: Int64(tracking.referenceTime), nanoseconds: 0))
                perform(core.tracking(correctionSeconds: tracking.currentCorrection, referenceAgeSeconds: age, now: now), now: now)
            }
        }
    }

    /// What a hold means on a chronyd without selectopts.
    static func oldChronydHold(_ configuration: DaemonConfiguration) -> String {
        "it keeps using VMCK's last samples until its reach register empties, about 8 refclock polls (\(configuration.oldChronydHoldSeconds) s at poll \(configuration.chronyPoll)); upgrade chrony to 4.4 or later for an immediate hold"
    }

    private func keepIdentity(now: Int64) {
        guard let store, let confirmed = core.confirmedIdentity, confirmed != stored else { return }
        if let error = store.save(confirmed) {
            log.rateLimited("state-file", now: now, .error,
                            "cannot write \(store.path) (errno \(error)): a disruption while vmclockd is stopped would go unnoticed")
        } else {
            stored = confirmed
        }
    }

    // MARK: - journal fields

    /// Structured fields for the journal, now.
    public func metadata(for event: DaemonEvent? = nil) -> Logger.Metadata {
        Self.metadata(core: core, lastSent: lastSent, event: event)
    }

    /// The state and the page's identity, the last sample's offset and
    /// bound, and the event's MESSAGE_ID.
    public static func metadata(core: DaemonCore, lastSent: SampleBuilder.Built?, event: DaemonEvent?) -> Logger.Metadata {
        var fields: Logger.Metadata = ["state": "\(core.state.label)"]
        if let identity = core.identity {
            fields["disruption_marker"] = "\(identity.disruptionMarker)"
            if let generation = identity.vmGenerationCounter { fields["vm_generation_counter"] = "\(generation)" }
        }
        if let lastSent {
            fields["offset_ns"] = "\(lastSent.offsetNanoseconds)"
            fields["bound_ns"] = "\(lastSent.boundNanoseconds)"
        }
        if let id = event?.messageID { fields["message_id"] = "\(id.rawValue)" }
        return fields
    }

    private static func messageID(_ id: MessageID?) -> Logger.Metadata {
        id.map { ["message_id": "\($0.rawValue)"] } ?? [:]
    }

    /// "+1.2", "-0.3", "0.0" (never "-0.0").
    private static func format(_ ppm: Double) -> String {
        let tenths = Int((ppm * 10).rounded())
        let sign = tenths > 0 ? "+" : (tenths < 0 ? "-" : "")
        return "\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }

    // MARK: - waiting

    /// One wait on signals, chronyd's reply socket and the device (where it
    /// notifies) until `deadline` (monotonic ns). Returns a stop signal.
    private func wait(until deadline: Int64) -> Int32? {
        pollSet.removeAll(keepingCapacity: true)
        pollSet.append(pollfd(fd: signals.descriptor, events: Int16(POLLIN), revents: 0))
        let control = channel.descriptor
        if let control { pollSet.append(pollfd(fd: control, events: Int16(POLLIN), revents: 0)) }
        let notifying = notifications.descriptor
        if let notifying { pollSet.append(pollfd(fd: notifying, events: Int16(POLLIN), revents: 0)) }
        let remaining = max(deadline - SystemClock.monotonicNanoseconds(), 0)
        // Rounded up: waking a little late costs nothing, early would spin.
        let ready = poll(&pollSet, nfds_t(pollSet.count), Int32(clamping: (remaining + 999_999) / 1_000_000))
        let now = SystemClock.monotonicNanoseconds()
        if ready > 0 {
            if pollSet[0].revents != 0, let stop = handleSignals() { return stop }
            if control != nil, pollSet[1].revents != 0, let outcome = channel.readable() { handle(outcome, now: now) }
            if notifying != nil, let revents = pollSet.last?.revents, revents != 0 {
                if let message = notifications.woke(revents: revents, lookDue: deadline) { log.log(.notice, message) }
            }
        }
        if let outcome = channel.timeUp(now: now) { handle(outcome, now: now) }
        return nil
    }

    private func handleSignals() -> Int32? {
        for request in signals.pending() {
            switch request {
            case .stop(let signal):
                log.log(.notice, "stopping on signal \(signal)")
                return signal
            case .reopen:
                onReload?()
                log.log(.notice, "SIGHUP: reopening \(configuration.devicePath)")
                device.close()
                notifications.forget()
            }
        }
        return nil
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ChronyClients
import Logging
import VMClockAccess
import VMClockPage

/// The daemon's loop: watch the page every `watchInterval` (or on a device
/// notification), feed each look to the state machine, carry out its
/// effects, and send a sample every `sampleInterval` while tracking.
public final class DaemonRunner {
    public private(set) var core: DaemonCore
    public private(set) var statistics = Statistics()
    private let configuration: DaemonConfiguration
    private let logger: Logger
    private let device: ReopeningDevice
    private let refclock: RefclockSocket
    private let control: ChronyControlWorker
    private var signals = SignalWatcher()
    private var limiter = RateLimiter()
    private var notificationsUnsupported = false
    /// The device can notify us of updates (set from the last page seen).
    private var notifying: VMClockDevice?
    private var refclockTrouble = false
    /// After the refclock socket was missing: no attempt before this
    /// (monotonic ns), doubling from one interval to at most a second, so a
    /// restarted chronyd is fed within a second of its socket reappearing.
    private var refclockRetryAt: Int64 = 0
    private var refclockBackoff: Int64 = 0
    static let refclockBackoffLimit: Int64 = 1_000_000_000
    /// Called after every look at the page (systemd status and watchdog).
    public var onLook: ((DaemonRunner) -> Void)?
    /// Called on SIGHUP, before the device is reopened.
    public var onReload: (() -> Void)?
    /// The last look found the device open (whatever its page said).
    public private(set) var deviceIsOpen = false
    /// The latest offset sent, for status lines.
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
        self.logger = logger
        core = DaemonCore(configuration: configuration, nativeCounter: Counter.native)
        device = ReopeningDevice(path: configuration.devicePath, replacementCheckNanoseconds: 250_000_000)
        refclock = try RefclockSocket(path: configuration.refclockSocketPath)
        control = ChronyControlWorker(
            serverPath: configuration.controlSocketPath, replyPath: configuration.controlReplySocketPath)
    }

    /// Runs until SIGTERM or SIGINT; returns the signal that stopped it.
    public func run() -> Int32 {
        let watch = Int64(configuration.watchInterval * 1e9)
        let sampleEvery = Int64(configuration.sampleInterval * 1e9)
        var nextSample = SystemClock.monotonicNanoseconds()
        while true {
            for request in signals.pending() {
                switch request {
                case .stop(let signal):
                    logger.notice("stopping on signal \(signal)")
                    return signal
                case .reopen:
                    onReload?()
                    logger.notice("SIGHUP: reopening \(configuration.devicePath)")
                    device.close()
                }
            }
            handleControlOutcomes()
            let now = SystemClock.monotonicNanoseconds()
            let sampleDue = now >= nextSample
            if sampleDue { nextSample = max(nextSample + sampleEvery, now) }
            look(sampleDue: sampleDue)
            onLook?(self)
            wait(until: min(now + watch, nextSample))
        }
    }

    // MARK: - one look

    private func look(sampleDue: Bool) {
        statistics.looks += 1
        let (observation, reading) = observe(withSystemClock: sampleDue)
        if case .unavailable = observation { deviceIsOpen = false } else { deviceIsOpen = true }
        let now = SystemClock.monotonicNanoseconds()
        perform(core.observe(observation, now: now), now: now)
        if sampleDue, core.wantsTracking, control.isIdle { control.submit([.tracking]) }
        if sampleDue, core.state == .tracking, let reading { send(reading, now: now) }
    }

    private struct Reading {
        var device: VMClockDevice
        var page: VMClockPage
        var bracket: CounterBracket
    }

    private func observe(withSystemClock: Bool) -> (Observation, Reading?) {
        notifying = nil
        do {
            let device = try device.device()
            if withSystemClock {
                let (page, bracket) = try device.readWithSystemClock(timeout: Self.snapshotTimeout)
                noteNotifications(device, page)
                return (.page(page, calibrationPoint: calibrationPoint()), Reading(device: device, page: page, bracket: bracket))
            }
            let page = try device.snapshot(timeout: Self.snapshotTimeout)
            noteNotifications(device, page)
            return (.page(page, calibrationPoint: calibrationPoint()), nil)
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

    private func noteNotifications(_ device: VMClockDevice, _ page: VMClockPage) {
        if !notificationsUnsupported, device.supportsNotifications(page) { notifying = device }
    }

    private func calibrationPoint() -> PeriodCalibration.Point {
        let bracket = CrossTimestamp.measure(attempts: 3, clock: .monotonicRaw)
        let raw = bracket.system.nanosecondsSinceEpoch ?? 0
        return PeriodCalibration.Point(counter: bracket.counterMidpoint, rawNanoseconds: raw)
    }

    // MARK: - samples

    private func send(_ reading: Reading, now: Int64) {
        guard let clock = try? reading.page.clockData(nativeCounter: Counter.native, taiPolicy: configuration.taiPolicy) else { return }
        switch SampleBuilder.build(clock: clock, bracket: reading.bracket, core: core) {
        case .failure(let withheld):
            statistics.samplesWithheld += 1
            rateLimited("withheld", now: now, .warning, "sample withheld: \(withheld)")
        case .success(let built):
            // The page must still be the one the sample was computed from: a
            // marker change published since then must not let it out.
            guard reading.device.isUnchanged(since: reading.page), now >= refclockRetryAt else {
                statistics.samplesUnsent += 1
                return
            }
            deliver(built, now: now)
        }
    }

    private func deliver(_ built: SampleBuilder.Built, now: Int64) {
        switch refclock.send(built.sample) {
        case .sent:
            statistics.samplesSent += 1
            lastSent = built
            refclockBackoff = 0
            if refclockTrouble {
                refclockTrouble = false
                for kind in ["refclock-absent", "refclock-full", "refclock-denied", "refclock-failed"] { limiter.clear(kind) }
                logger.notice("samples are reaching chronyd again")
            }
        case .noListener(let errno):
            refclockTrouble = true
            let interval = Int64(configuration.sampleInterval * 1e9)
            refclockBackoff = min(max(refclockBackoff * 2, interval), Self.refclockBackoffLimit)
            refclockRetryAt = now + refclockBackoff
            statistics.samplesUnsent += 1
            rateLimited("refclock-absent", now: now, .warning,
                        "chronyd's refclock socket \(configuration.refclockSocketPath) is not there (\(errno)): is chronyd running with '\(configuration.chronyRefclockLine)'? Retrying, at least once a second.")
        case .full:
            refclockTrouble = true
            statistics.samplesDroppedFull += 1
            rateLimited("refclock-full", now: now, .warning, "chronyd's refclock socket is full: sample dropped")
        case .permissionDenied:
            refclockTrouble = true
            statistics.samplesUnsent += 1
            rateLimited("refclock-denied", now: now, .error,
                        "permission denied on \(configuration.refclockSocketPath): chronyd creates it as root; run vmclockd as root or in chronyd's group")
        case .failed(let errno):
            refclockTrouble = true
            statistics.samplesUnsent += 1
            rateLimited("refclock-failed", now: now, .error, "sending to \(configuration.refclockSocketPath) failed: \(errno)")
        }
    }

    // MARK: - effects

    private func perform(_ effects: [DaemonEffect], now: Int64) {
        for effect in effects {
            switch effect {
            case .log(let event):
                var message = event.message
                if case .stateChanged(_, .tracking) = event, let ppm = core.periodDisagreementPPM {
                    message += " (page period within \(Self.format(ppm)) ppm of the counter rate measured against CLOCK_MONOTONIC_RAW)"
                }
                logger.log(level: event.isWarning ? .warning : .notice, "\(message)", metadata: metadata(for: event))
                if case .stateChanged(_, .tracking) = event { limiter.clear("withheld") }
            case .resetChronySources:
                control.submit([.resetSources])
            case .burstChronySources:
                control.submit([.burst])  // the worker is serial: after the reset
            case .makeStep(let correction):
                logger.notice("asking chronyd to step the clock: \(correction) s still to correct after the disruption")
                control.submit([.makeStep])
            }
        }
    }

    private func handleControlOutcomes() {
        for outcome in control.drain() {
            switch outcome {
            case .replied(.tracking, let reply):
                guard let tracking = reply.tracking else { continue }
                let now = SystemClock.monotonicNanoseconds()
                let age = SystemClock.realtime().seconds(since: Timestamp(seconds: Int64(tracking.referenceTime), nanoseconds: 0))
                perform(core.tracking(correctionSeconds: tracking.currentCorrection, referenceAgeSeconds: age, now: now), now: now)
            case .replied(let command, _):
                logger.notice("chronyd: \(command) done")
            case .failed(.burst, .refused(_, .noSuchSource)):
                logger.info("chronyd has no NTP sources to burst")
            case .failed(let command, let failure):
                rateLimited("control-\(command.rawValue)", now: SystemClock.monotonicNanoseconds(), .error,
                            "chronyd '\(command)' failed: \(failure)")
            }
        }
    }

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

    /// "+1.2", "-0.3", "0.0" (never "-0.0").
    private static func format(_ ppm: Double) -> String {
        let tenths = Int((ppm * 10).rounded())
        let sign = tenths > 0 ? "+" : (tenths < 0 ? "-" : "")
        return "\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }

    private func rateLimited(_ kind: String, now: Int64, _ level: Logger.Level, _ message: String) {
        guard let suppressed = limiter.admit(kind, now: now) else { return }
        logger.log(level: level, "\(message)\(suppressed > 0 ? " (\(suppressed) more like this since the last report)" : "")",
                   metadata: metadata())
    }

    // MARK: - waiting

    /// Sleeps until `deadline` (monotonic ns), at most 50 ms at a time so
    /// signals are seen promptly; wakes early on a device notification.
    private func wait(until deadline: Int64) {
        let remaining = deadline - SystemClock.monotonicNanoseconds()
        guard remaining > 0 else { return }
        let milliseconds = Int32(clamping: min(remaining / 1_000_000, 50))
        if let notifying {
            if notifying.waitForUpdate(milliseconds: max(milliseconds, 1)) == .unsupported {
                notificationsUnsupported = true
                logger.notice("the device does not deliver notifications (POLLHUP): polling every \(configuration.watchInterval) s")
            }
            return
        }
        var request = timespec(tv_sec: 0, tv_nsec: Int(min(remaining, 50_000_000)))
        nanosleep(&request, nil)
    }
}

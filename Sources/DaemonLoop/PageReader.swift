import DaemonCore
import VMClockAccess
import VMClockPage

/// The daemon's side of the device: one look is a consistent page with the
/// counter paired to both clocks, as an observation for the state machine;
/// it reopens a device that went away and says which descriptor, if any, to
/// wait on for update notifications.
final class PageReader {
    private let device: ReopeningDevice
    private(set) var notifications: NotificationWatch
    /// The last look found the device open (whatever its page said).
    private(set) var deviceIsOpen = false
    /// The last page read, to tell an unchanged page by a few loads.
    private var last: PageReading?
    /// What the last failed attempt saw, repeated until the backoff ends.
    private var failing: Observation?
    private var backoff = Backoff.device

    /// A host update takes well under a microsecond. A page still odd after
    /// this is "busy" for this look and is looked at again at the next one:
    /// a host that holds seq_count odd must cost no more than an idle page
    /// (the state machine decides when "busy" means hold).
    static let snapshotTimeout: Duration = .microseconds(20)
    /// How often to check that the path still names the open device (a
    /// stat()): a vanished device's page simply stops changing, and a look
    /// should cost no system call.
    static let replacementCheckNanoseconds: Int64 = 1_000_000_000

    init(path: String, notificationPath: String? = nil) throws(DeviceError) {
        device = ReopeningDevice(path: path, replacementCheckNanoseconds: Self.replacementCheckNanoseconds)
        if let notificationPath { try NotificationSource.checkOpens(notificationPath) }
        notifications = NotificationWatch(overridePath: notificationPath)
    }

    func look() -> (Observation, PageReading?) {
        notifications.lookTaken()
        let (observation, reading) = observe()
        switch observation {
        case .unavailable, .readFailed: deviceIsOpen = false
        default: deviceIsOpen = true
        }
        return (observation, reading)
    }

    /// SIGHUP: the next look opens the device again.
    func reopen() {
        failing = nil
        backoff.succeeded()
        device.close()
        dropDevice()
    }

    /// The device is gone or closed: nothing here keeps it open any more
    /// (ReopeningDevice has let it go), so its descriptor and mapping close now.
    private func dropDevice() {
        last = nil
        notifications.forget()
    }

    /// Typed throws throughout: a busy page, every look while the host is
    /// stuck, must not box its error on the heap.
    private func observe() -> (Observation, PageReading?) {
        if let failing, backoff.isWaiting(now: SystemClock.monotonicNanoseconds()) { return (failing, nil) }
        let device: VMClockDevice
        do throws(DeviceError) {
            device = try self.device.device()
        } catch {
            dropDevice()
            return (lost(error), nil)
        }
        notifications.follow(device)
        if let last, last.device === device, let look = lookAgain(at: last) { return (succeeded(.samePage(look)), last) }
        last = nil
        do throws(SnapshotError) {
            let (page, bracket) = try device.readWithSystemClock(attempts: 3, timeout: Self.snapshotTimeout)
            let raw = CrossTimestamp.measure(attempts: 3, clock: .monotonicRaw)
            let reading = PageReading(device: device, page: page)
            notifications.noteLook(reading)
            last = reading
            return (succeeded(.page(page, Look(bracket: bracket, rawBracket: raw))), reading)
        } catch {
            switch error {
            // With pread the driver itself waits (spinning) its 100 ms for a
            // stuck host before ETIMEDOUT: not at every look.
            case .busy: return (device.readMethod == .pread ? failed(.busy) : .busy, nil)
            case .page(let pageError): return (succeeded(.invalid(pageError)), nil)
            case .device(let deviceError):
                self.device.close()
                dropDevice()
                return (lost(deviceError), nil)
            }
        }
    }

    /// What an open or read error means: a device that went away, or one
    /// that is still there and fails (tried again after a backoff).
    private func lost(_ error: DeviceError) -> Observation {
        error.hasVanished ? succeeded(.unavailable(error)) : failed(.readFailed(error))
    }

    private func failed(_ observation: Observation) -> Observation {
        failing = observation
        backoff.failed(now: SystemClock.monotonicNanoseconds())
        return observation
    }

    /// Anything but a failure ends the backoff (a vanished device is looked
    /// for at every look, as before).
    private func succeeded(_ observation: Observation) -> Observation {
        if failing != nil {
            failing = nil
            backoff.succeeded()
        }
        return observation
    }

    /// Fresh clock readings for a page that is still current (taken
    /// `whileCurrent`, so they belong to it). nil if the host published in
    /// between (the page is then read again).
    private func lookAgain(at reading: PageReading) -> Look? {
        reading.whileCurrent {
            Look(bracket: CrossTimestamp.measure(attempts: 3), rawBracket: CrossTimestamp.measure(attempts: 3, clock: .monotonicRaw))
        }
    }

    /// poll()'s `revents` for the notification descriptor; a line to log, if any.
    func woke(revents: Int16) -> String? { notifications.woke(revents: revents) }
}

import VMClockAccess
import VMClockPage

/// Which descriptor, if any, the loop waits on for update notifications, and
/// what a wake-up meant. It never lets the loop spin: a source that answers
/// poll() with anything but POLLIN is not waited on again while the device
/// stays the same; a wake-up with the page unchanged, or whose re-arming
/// read fails, pauses the wait until the next timed look.
struct NotificationWatch {
    /// Where notifications come from instead of the page's device (tests).
    private let overridePath: String?
    private var source: NotificationSource?
    /// The source made for the device of `reading`, whether or not it is used.
    private var known: NotificationSource?
    private var reading: PageReading?
    /// This device answered poll() with something other than POLLIN. Judged
    /// per device: a reopened or replaced device may notify.
    private var unsupported = false
    private var paused = false
    /// seq_count really changed: look now.
    private(set) var updated = false

    init(overridePath: String? = nil) { self.overridePath = overridePath }

    var descriptor: Int32? { unsupported || paused || updated ? nil : source?.descriptor }
    /// The loop learns of updates from the device, not only on its timer.
    var isInUse: Bool { source != nil && !unsupported }

    /// A look is being taken: whatever woke it is handled, even if the look
    /// fails (a busy or vanished page must not make the loop look again at
    /// once), and a paused wait resumes after it.
    mutating func lookTaken() {
        updated = false
        paused = false
    }

    /// The device the reader holds now: all kept for another one is dropped,
    /// so a vanished device's descriptor and mapping close at once.
    mutating func follow(_ device: VMClockDevice) {
        if let reading, reading.device !== device { forget() }
    }

    /// A page was read from `device`: wait on its notifications if it has them.
    mutating func noteLook(_ look: PageReading) {
        follow(look.device)
        if reading == nil { known = makeSource(for: look.device) }
        source = known.flatMap { $0.supports(look.page) ? $0 : nil }
        reading = look
    }

    /// A seam that cannot be opened for this device gives no notifications.
    private func makeSource(for device: VMClockDevice) -> NotificationSource? {
        guard let overridePath else { return NotificationSource(device) }
        return try? NotificationSource(path: overridePath, for: device)
    }

    /// Handles poll()'s `revents` for the source; a line to log, if any.
    mutating func woke(revents: Int16) -> String? {
        guard let source else { return nil }
        if NotificationSource.unsupported(revents: revents) {
            unsupported = true
            return "the device sets NOTIFICATION_PRESENT but does not deliver notifications (poll revents 0x\(String(UInt16(bitPattern: revents), radix: 16))): looking at the page on a timer instead"
        }
        let rearmed = source.rearm()
        if let reading, !reading.isCurrent { updated = true } else { paused = true }
        if !rearmed { paused = true }
        return nil
    }

    /// No device (vanished, closed after an error, SIGHUP): nothing of the
    /// last one is kept, and the next one is judged afresh.
    mutating func forget() {
        source = nil
        known = nil
        reading = nil
        unsupported = false
    }
}

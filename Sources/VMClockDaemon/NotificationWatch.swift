import VMClockAccess
import VMClockPage

/// Which descriptor, if any, the loop waits on for update notifications, and
/// what a wake-up meant. It never lets the loop spin: a source that answers
/// poll() with anything but POLLIN is not waited on again; a wake-up with
/// seq_count unchanged, or whose re-arming read fails, pauses the wait
/// until the next timed look.
struct NotificationWatch {
    /// Where notifications come from instead of the page's device (tests).
    private let override: NotificationSource?
    private var source: NotificationSource?
    /// The last source made, reused while the device stays the same.
    private var known: NotificationSource?
    private var reading: (device: VMClockDevice, page: VMClockPage)?
    private var unsupported = false
    private var paused = false
    /// seq_count really changed: look now.
    private(set) var updated = false

    init(override: NotificationSource? = nil) { self.override = override }

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

    /// A page was read from `device`: wait on its notifications if it has them.
    mutating func noteLook(_ device: VMClockDevice, _ page: VMClockPage) {
        let candidate = override ?? (known.flatMap { $0.belongs(to: device) ? $0 : nil } ?? NotificationSource(device))
        known = candidate
        source = candidate.supports(page) ? candidate : nil
        reading = (device, page)
    }

    /// Handles poll()'s `revents` for the source; a line to log, if any.
    mutating func woke(revents: Int16) -> String? {
        guard let source else { return nil }
        if NotificationSource.unsupported(revents: revents) {
            unsupported = true
            return "the device sets NOTIFICATION_PRESENT but does not deliver notifications (poll revents 0x\(String(UInt16(bitPattern: revents), radix: 16))): looking at the page on a timer instead"
        }
        let rearmed = source.rearm()
        if let reading, !reading.device.isUnchanged(since: reading.page) { updated = true } else { paused = true }
        if !rearmed { paused = true }
        return nil
    }

    mutating func forget() {
        source = nil
        known = nil
        reading = nil
        unsupported = false
    }
}

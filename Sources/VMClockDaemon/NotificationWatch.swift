import VMClockAccess
import VMClockPage

/// Which device, if any, the loop waits on for update notifications, and
/// what a wake-up meant. It never lets the loop spin: a device that answers
/// poll() with anything but POLLIN is not waited on again; a wake-up with
/// seq_count unchanged, or whose re-arming read fails, pauses the wait
/// until the next timed look.
struct NotificationWatch {
    private var device: VMClockDevice?
    private var lastPage: VMClockPage?
    private var unsupported = false
    private var paused = false
    /// seq_count really changed: look now.
    private(set) var updated = false

    var descriptor: Int32? { unsupported || paused || updated ? nil : device?.notificationDescriptor }

    /// A look is being taken: whatever woke it is handled, even if the look
    /// fails (a busy or vanished page must not make the loop look again at once).
    mutating func lookTaken() { updated = false }

    mutating func noteLook(_ device: VMClockDevice, _ page: VMClockPage) {
        self.device = device.supportsNotifications(page) ? device : nil
        lastPage = page
        updated = false
        paused = false
    }

    /// Handles poll()'s `revents` for the device; a line to log, if any.
    mutating func woke(revents: Int16, lookDue: Int64) -> String? {
        guard let device else { return nil }
        if VMClockDevice.notificationsUnsupported(revents: revents) {
            unsupported = true
            return "the device sets NOTIFICATION_PRESENT but does not deliver notifications (poll revents 0x\(String(UInt16(bitPattern: revents), radix: 16))): looking at the page on a timer instead"
        }
        let rearmed = device.rearmNotification()
        if let lastPage, !device.isUnchanged(since: lastPage) { updated = true } else { paused = true }
        if !rearmed { paused = true }
        return nil
    }

    mutating func forget() {
        device = nil
        lastPage = nil
    }
}

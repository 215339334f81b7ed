#if canImport(Glibc)
import Glibc
#endif
import VMClockPage

/// Update notifications (Linux 7.x): with NOTIFICATION_PRESENT on the page,
/// poll() on the open device reports POLLIN when seq_count changed since this
/// file's last read(), and a read() re-arms it. Without the flag poll()
/// reports POLLHUP at once. Only a character device can do either: a regular
/// file is always "readable", and polling one would spin.
extension VMClockDevice {
    public enum UpdateWait: Equatable, Sendable {
        case updated, timedOut, unsupported
    }

    public func supportsNotifications(_ page: VMClockPage) -> Bool {
        isCharacterDevice && page.flags.contains(.notificationPresent)
    }

    /// Waits up to `milliseconds` for the host to publish an update.
    public func waitForUpdate(milliseconds: Int32) -> UpdateWait {
        var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, milliseconds)
        guard ready > 0 else { return .timedOut }
        if descriptor.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { return .unsupported }
        var byte: UInt8 = 0
        _ = pread(fileDescriptor, &byte, 1, 0)  // re-arms the notification
        return .updated
    }
}

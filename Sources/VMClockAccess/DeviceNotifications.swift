#if canImport(Glibc)
import Glibc
#endif
import VMClockPage

/// Update notifications (Linux 7.x): with NOTIFICATION_PRESENT on the page,
/// poll() on the open device reports POLLIN when seq_count changed since this
/// file's last read(), and a read() re-arms it. Without the flag poll()
/// reports POLLHUP at once; kernels whose driver has no poll handler
/// (6.13–6.x) report the default mask, POLLOUT included, at once and
/// forever. Only a character device can do either: a regular file is always
/// "readable", and polling one would spin.
extension VMClockDevice {
    public func supportsNotifications(_ page: VMClockPage) -> Bool {
        isCharacterDevice && page.flags.contains(.notificationPresent)
    }

    /// The descriptor to poll for POLLIN.
    public var notificationDescriptor: Int32 { fileDescriptor }

    /// What poll()'s `revents` says of the device: an update, or no
    /// notification support at all (POLLOUT, POLLHUP, POLLERR, POLLNVAL).
    public static func notificationsUnsupported(revents: Int16) -> Bool {
        revents & Int16(POLLOUT | POLLHUP | POLLERR | POLLNVAL) != 0
    }

    /// Re-arms the notification with a read(); false if the read failed (the
    /// driver's ETIMEDOUT while the host holds seq_count odd): POLLIN then
    /// stays raised.
    public func rearmNotification() -> Bool {
        var byte: UInt8 = 0
        return pread(fileDescriptor, &byte, 1, 0) >= 0
    }
}

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
public final class NotificationSource {
    public let descriptor: Int32
    public let isCharacterDevice: Bool
    /// Keeps the device, whose descriptor this is, open while in use.
    private let device: VMClockDevice?

    /// The device's own notifications.
    public init(_ device: VMClockDevice) {
        self.device = device
        descriptor = device.fileDescriptor
        isCharacterDevice = device.isCharacterDevice
    }

    /// Notifications from another file than the page's: a test seam, so a
    /// real character device's poll() and read() (one with no poll handler,
    /// or whose read fails) can stand behind a page kept in a regular file.
    public init(path: String) throws(DeviceError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DeviceError(path: path, errno: .init(rawValue: errno)) }
        var info = stat()
        fstat(fd, &info)
        device = nil
        descriptor = fd
        isCharacterDevice = info.st_mode & S_IFMT == S_IFCHR
    }

    deinit { if device == nil { close(descriptor) } }

    /// This is `device`'s own source.
    public func belongs(to device: VMClockDevice) -> Bool { self.device === device }

    public func supports(_ page: VMClockPage) -> Bool {
        isCharacterDevice && page.flags.contains(.notificationPresent)
    }

    /// What poll()'s `revents` says: an update, or no notification support
    /// at all (POLLOUT, POLLHUP, POLLERR, POLLNVAL).
    public static func unsupported(revents: Int16) -> Bool {
        revents & Int16(POLLOUT | POLLHUP | POLLERR | POLLNVAL) != 0
    }

    /// Re-arms the notification with a read(); false if the read failed (the
    /// driver's ETIMEDOUT while the host holds seq_count odd): POLLIN then
    /// stays raised.
    public func rearm() -> Bool {
        var byte: UInt8 = 0
        return pread(descriptor, &byte, 1, 0) >= 0
    }
}

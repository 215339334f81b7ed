#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import VMClockPage

/// Which file a path names (device and inode), to notice a replaced device.
struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64
    /// st_size for regular files; nil for devices, whose size means nothing.
    let regularFileSize: Int?
    let isCharacterDevice: Bool

    init(descriptor: FileDescriptor, path: String) throws(DeviceError) {
        var info = stat()
        guard fstat(descriptor.rawValue, &info) == 0 else {
            throw DeviceError(path: path, errno: Errno(rawValue: errno))
        }
        self.init(info)
    }

    init(path: String) throws(DeviceError) {
        var info = stat()
        // withCString: a native string lends its own bytes, no copy.
        guard path.withCString({ stat($0, &info) }) == 0 else { throw DeviceError(path: path, errno: Errno(rawValue: errno)) }
        self.init(info)
    }

    private init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        regularFileSize = (info.st_mode & S_IFMT) == S_IFREG ? Int(info.st_size) : nil
        isCharacterDevice = (info.st_mode & S_IFMT) == S_IFCHR
    }

    static func == (lhs: FileIdentity, rhs: FileIdentity) -> Bool {
        lhs.device == rhs.device && lhs.inode == rhs.inode
    }
}

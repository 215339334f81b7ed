#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A non-blocking AF_UNIX datagram socket, optionally bound to a path: the
/// transport of both chrony protocols (SOCK refclock and cmdmon).
final class UnixDatagramSocket {
    let descriptor: Int32
    private(set) var boundPath: String?

    init() throws(Errno) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        descriptor = fd
    }

    deinit {
        close(descriptor)
        if let boundPath { unlink(boundPath) }
    }

    /// Binds to `path` (replacing a stale socket file) with `mode`, so a peer
    /// running as another user (chronyd drops to _chrony) can reply to it.
    func bind(path: String, mode: mode_t) throws(Errno) {
        unlink(path)
        let result = try Self.withAddress(path) { address, length in Glibc.bind(descriptor, address, length) }
        guard result == 0 else { throw Errno(rawValue: errno) }
        boundPath = path
        guard chmod(path, mode) == 0 else { throw Errno(rawValue: errno) }
    }

    /// Sends one datagram to `path`.
    func send(_ bytes: UnsafeRawBufferPointer, to path: String) throws(Errno) {
        let sent = try Self.withAddress(path) { address, length in
            sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), address, length)
        }
        guard sent == bytes.count else { throw Errno(rawValue: sent < 0 ? errno : EMSGSIZE) }
    }

    /// Makes `path` the peer of every `send(_:)`: the kernel then resolves
    /// the path once, not on every datagram.
    func connect(to path: String) throws(Errno) {
        let result = try Self.withAddress(path) { address, length in Glibc.connect(descriptor, address, length) }
        guard result == 0 else { throw Errno(rawValue: errno) }
    }

    /// Sends one datagram to the connected peer.
    func send(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        let sent = Glibc.send(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
        guard sent == bytes.count else { throw Errno(rawValue: sent < 0 ? errno : EMSGSIZE) }
    }

    /// One datagram into `buffer` if one is waiting (non-blocking): its
    /// length (cut to the buffer's), else nil.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int? {
        let count = recv(descriptor, buffer.baseAddress, buffer.count, 0)
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            throw Errno(rawValue: errno)
        }
        return count
    }

    /// Waits until a datagram is readable or `milliseconds` pass.
    func waitReadable(milliseconds: Int32) -> Bool {
        var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&pfd, 1, milliseconds) > 0
    }

    static func withAddress<R>(
        _ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws(Errno) -> R
    ) throws(Errno) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let count = path.utf8.count
        guard count > 0, count < capacity else { throw .fileNameTooLong }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[count] = 0
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + count + 1)
        return try withUnsafePointer(to: &address) { pointer throws(Errno) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (p) throws(Errno) in try body(p, length) }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import VMClockSystem

/// A non-blocking AF_UNIX datagram socket, optionally bound to a path: the
/// transport of both chrony protocols (SOCK refclock and cmdmon).
final class UnixDatagramSocket {
    let descriptor: Int32
    private(set) var boundPath: String?

    init() throws(Errno) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .last }
        descriptor = fd
    }

    deinit {
        close(descriptor)
        if let boundPath { unlink(boundPath) }
    }

    /// Binds to `path` (replacing a stale socket file), writable by `user`
    /// alone (0600, its owner), so that a peer running as another user
    /// (chronyd drops to _chrony) can reply and no one else can send. A
    /// process that may not give the file away (neither root nor `user`)
    /// gives it to `group`, the peer's, instead (0620).
    func bind(path: String, writableBy user: uid_t, group: gid_t) throws(Errno) {
        unlink(path)
        let result = try Self.withAddress(path) { address, length in Glibc.bind(descriptor, address, length) }
        guard result == 0 else { throw .last }
        boundPath = path
        // Ours alone first, then given away (-1: keep the other id). Already
        // the user's when running as it (the packaged service, whose system
        // call filter refuses chown).
        guard chmod(path, 0o600) == 0 else { throw .last }
        guard geteuid() != user, chown(path, user, gid_t.max) != 0 else { return }
        guard errno == EPERM, chown(path, uid_t.max, group) == 0, chmod(path, 0o620) == 0 else { throw .last }
    }

    /// Sends one datagram to `path`.
    func send(_ bytes: UnsafeRawBufferPointer, to path: String) throws(Errno) {
        let sent = try Self.withAddress(path) { address, length in
            sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), address, length)
        }
        guard sent == bytes.count else { throw sent < 0 ? .last : .messageTooLong }
    }

    /// Makes `path` the peer of every `send(_:)`: the kernel then resolves
    /// the path once, not on every datagram.
    func connect(to path: String) throws(Errno) {
        let result = try Self.withAddress(path) { address, length in Glibc.connect(descriptor, address, length) }
        guard result == 0 else { throw .last }
    }

    /// Sends one datagram to the connected peer.
    func send(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        let sent = Glibc.send(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
        guard sent == bytes.count else { throw sent < 0 ? .last : .messageTooLong }
    }

    /// One datagram into `buffer` if one is waiting (non-blocking): its
    /// length (cut to the buffer's), else nil.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int? {
        let count = recv(descriptor, buffer.baseAddress, buffer.count, 0)
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            throw .last
        }
        return count
    }

    /// As `receive(into:)`, with the sender's address into `sender` (its
    /// bound path, which for chronyd is its command socket's).
    func receive(into buffer: UnsafeMutableRawBufferPointer, from sender: inout SenderAddress) throws(Errno) -> Int? {
        // Zeroed: a path shorter than sun_path then ends in a zero.
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let count = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(descriptor, buffer.baseAddress, buffer.count, 0, $0, &length) }
        }
        sender = SenderAddress(address: address, length: length)
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            throw .last
        }
        return count
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

/// Where a datagram came from: the sender's address as the kernel reports
/// it, kept in place (the daemon's receive allocates nothing).
struct SenderAddress {
    var address = sockaddr_un()
    var length = socklen_t(0)

    /// The sender was bound to exactly `path` (an unbound or abstract
    /// sender never is).
    func isPath(_ path: String) -> Bool {
        withPath { sent in
            guard let sent else { return false }
            var expected = path.utf8.makeIterator()
            for byte in sent { guard expected.next() == byte else { return false } }
            return expected.next() == nil
        }
    }

    /// The sender's path, for a log line (nil: unbound or abstract).
    var path: String? { withPath { $0.map { String(decoding: $0, as: UTF8.self) } } }

    /// The path's bytes up to its terminating zero, or nil: a length short
    /// of a path (unbound), or a leading zero (the abstract namespace).
    func withPath<R>(_ body: (UnsafeRawBufferPointer?) -> R) -> R {
        let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        let reported = Int(length) - offset
        return withUnsafeBytes(of: address.sun_path) { raw in
            guard reported > 0, reported <= raw.count, raw[0] != 0 else { return body(nil) }
            let end = raw[..<reported].firstIndex(of: 0) ?? reported
            return body(UnsafeRawBufferPointer(rebasing: raw[..<end]))
        }
    }

    /// The sender's path and `path` name the same socket file now
    /// (`path` through a symbolic link, say): stat(2) on both.
    func isSameFile(as path: String) -> Bool {
        var sent = stat()
        var expected = stat()
        let found = withPath { bytes in
            // Zeroed before each receive (above): a shorter path ends in a zero.
            guard let bytes, bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
            return stat(bytes.baseAddress!.assumingMemoryBound(to: CChar.self), &sent) == 0
        }
        return found && stat(path, &expected) == 0 && sent.st_dev == expected.st_dev && sent.st_ino == expected.st_ino
    }
}

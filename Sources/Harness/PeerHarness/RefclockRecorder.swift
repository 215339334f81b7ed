import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A SOCK refclock socket of our own, where vmclockd's `--refclock-socket`
/// points: it takes each datagram off the socket with the time the kernel
/// queued it (SO_TIMESTAMPNS: the sender's sendto, without our wake-up) and
/// the time we took it, decodes it here, from the bytes, per chrony's
/// `struct sock_sample` (independently of the daemon's own encoder), and
/// forwards it unchanged to `forwardPath` (chronyd's refclock socket) if given.
public final class RefclockRecorder: Sendable {
    /// chrony's `struct sock_sample` (refclock_sock.c), 64-bit Linux, native
    /// byte order: `struct timeval tv` (tv_sec 8, tv_usec 8) · `double offset`
    /// · `int pulse` · `int leap` · `int _pad` · `int magic` = 40 bytes.
    public struct Sample: Equatable, Sendable {
        public static let byteCount = 40
        public static let chronyMagic: Int32 = 0x534f_434b  // "SOCK"

        public var tvSeconds: Int64
        public var tvMicroseconds: Int64
        /// True time − system time at tv, seconds.
        public var offset: Double
        public var pulse: Int32
        public var leap: Int32
        public var pad: Int32
        public var magic: Int32

        /// Nil unless exactly 40 bytes (what chronyd accepts by length).
        public init?(bytes: [UInt8]) {
            guard bytes.count == Self.byteCount else { return nil }
            (tvSeconds, tvMicroseconds, offset, pulse, leap, pad, magic) = bytes.withUnsafeBytes { b in
                (
                    b.loadUnaligned(fromByteOffset: 0, as: Int64.self),
                    b.loadUnaligned(fromByteOffset: 8, as: Int64.self),
                    b.loadUnaligned(fromByteOffset: 16, as: Double.self),
                    b.loadUnaligned(fromByteOffset: 24, as: Int32.self),
                    b.loadUnaligned(fromByteOffset: 28, as: Int32.self),
                    b.loadUnaligned(fromByteOffset: 32, as: Int32.self),
                    b.loadUnaligned(fromByteOffset: 36, as: Int32.self)
                )
            }
        }

        /// tv as nanoseconds since the epoch (a multiple of 1000).
        public var tvNanoseconds: Int64 { tvSeconds * 1_000_000_000 + tvMicroseconds * 1000 }

        /// What chronyd checks before it takes a sample.
        public var isWellFormed: Bool { magic == Self.chronyMagic && (0..<1_000_000).contains(tvMicroseconds) }
    }

    public struct Datagram: Sendable {
        /// As sent (MSG_TRUNC), even beyond the 512 bytes kept in `bytes`.
        public var length: Int
        public var bytes: [UInt8]
        /// Decoded, if 40 bytes long.
        public var sample: Sample?
        /// CLOCK_REALTIME when we took it off the socket, ns.
        public var receivedNanoseconds: Int64
        /// CLOCK_REALTIME when the kernel queued it on our socket, ns.
        public var queuedNanoseconds: Int64?
        /// 0 if forwarded, else the errno of the forwarding sendto; nil when
        /// there is nowhere to forward to.
        public var forwardErrno: Int32?

        public var wasForwarded: Bool { forwardErrno == 0 }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var what: String
        public var errno: Int32
        public var description: String { "refclock socket: \(what): \(String(cString: strerror(errno)))" }
    }

    public let path: String
    public let forwardPath: String?
    private let listener: Int32
    private let sender: Int32
    private let closed = Atomic<Bool>(false)

    /// Binds `path` (replacing a stale file).
    public init(path: String, forwardingTo forwardPath: String? = nil) throws {
        self.path = path
        self.forwardPath = forwardPath
        let type = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        listener = socket(AF_UNIX, type, 0)
        sender = forwardPath == nil ? -1 : socket(AF_UNIX, type, 0)
        guard listener >= 0, forwardPath == nil || sender >= 0 else {
            let error = Failure(what: "socket", errno: errno)
            if listener >= 0 { Glibc.close(listener) }
            if sender >= 0 { Glibc.close(sender) }
            throw error
        }
        // Room for a long run of samples between two receive() calls.
        var size: Int32 = 4 << 20
        setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var on: Int32 = 1
        setsockopt(listener, SOL_SOCKET, Self.timestampOption, &on, socklen_t(MemoryLayout<Int32>.size))
        unlink(path)
        guard Self.withAddress(path, { bind(listener, $0, $1) }) == 0 else {
            let error = Failure(what: "bind \(path)", errno: errno)
            Glibc.close(listener)
            if sender >= 0 { Glibc.close(sender) }
            throw error
        }
    }

    deinit { close() }

    /// Closes the sockets and removes the socket file (once).
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        Glibc.close(listener)
        if sender >= 0 { Glibc.close(sender) }
        unlink(path)
    }

    /// SO_TIMESTAMPNS (= SCM_TIMESTAMPNS) with a 64-bit time_t: 35 on
    /// x86-64 and arm64 (glibc defines it through a macro Swift cannot import).
    static let timestampOption: Int32 = 35

    /// Every datagram that arrives within `milliseconds` (at least one wait),
    /// each forwarded as it is taken.
    public func receive(waitingUpTo milliseconds: Int32) -> [Datagram] {
        var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, milliseconds) > 0 else { return [] }
        var result: [Datagram] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        var control = [UInt8](repeating: 0, count: 128)
        while true {
            var queued: Int64?
            let count = buffer.withUnsafeMutableBytes { data in
                control.withUnsafeMutableBytes { controlBytes in
                    var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var message = msghdr()
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBytes.baseAddress
                        message.msg_controllen = controlBytes.count
                        let n = recvmsg(listener, &message, Int32(MSG_TRUNC))
                        // struct cmsghdr { size_t len; int level; int type; } then the data, 8-aligned.
                        var offset = 0
                        while n >= 0, offset + 16 <= message.msg_controllen {
                            let length = controlBytes.loadUnaligned(fromByteOffset: offset, as: Int.self)
                            let level = controlBytes.loadUnaligned(fromByteOffset: offset + 8, as: Int32.self)
                            let type = controlBytes.loadUnaligned(fromByteOffset: offset + 12, as: Int32.self)
                            guard length >= 16 else { break }
                            if level == SOL_SOCKET, type == Self.timestampOption, length >= 32 {
                                let seconds = controlBytes.loadUnaligned(fromByteOffset: offset + 16, as: Int64.self)
                                let nanoseconds = controlBytes.loadUnaligned(fromByteOffset: offset + 24, as: Int64.self)
                                queued = seconds * 1_000_000_000 + nanoseconds
                            }
                            offset += (length + 7) & ~7
                        }
                        return n
                    }
                }
            }
            if count < 0 { break }
            let received = realtimeNanoseconds()
            let bytes = Array(buffer[..<min(count, buffer.count)])
            var forwardErrno: Int32?
            if let forwardPath {
                let sent = Self.withAddress(forwardPath) { address, length in
                    bytes.withUnsafeBytes { sendto(sender, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, length) }
                }
                forwardErrno = sent == bytes.count ? 0 : (sent < 0 ? errno : EMSGSIZE)
            }
            result.append(
                Datagram(
                    length: count, bytes: bytes, sample: Sample(bytes: bytes), receivedNanoseconds: received,
                    queuedNanoseconds: queued, forwardErrno: forwardErrno))
        }
        return result
    }

    private static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        precondition(bytes.count < MemoryLayout.size(ofValue: address.sun_path), "socket path too long: \(path)")
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }
}

/// A recording relay between vmclockd and chronyd: a `RefclockRecorder` read
/// on a thread of its own until `stop()`, keeping every datagram. What
/// vmclockd sends and what chronyd is given are then the same list: a
/// datagram not in it never reached chronyd.
public final class RecordingRelay: Sendable {
    private let recorder: RefclockRecorder
    private let records = Mutex<[RefclockRecorder.Datagram]>([])
    private let stopping = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// Binds `path` (replacing a stale file) and starts relaying to `forwardPath`.
    public init(listeningAt path: String, forwardingTo forwardPath: String?) throws {
        recorder = try RefclockRecorder(path: path, forwardingTo: forwardPath)
        // A queue of its own gets a thread of its own; it polls at most 20 ms
        // at a time so `stop()` is seen promptly.
        DispatchQueue(label: "recording-relay").async { [self] in
            while !stopping.load(ordering: .acquiring) {
                let new = recorder.receive(waitingUpTo: 20)
                if !new.isEmpty { records.withLock { $0 += new } }
            }
            finished.signal()
        }
    }

    deinit { stop() }

    public var path: String { recorder.path }

    /// Every datagram so far, in arrival order.
    public var datagrams: [RefclockRecorder.Datagram] { records.withLock { $0 } }

    public var count: Int { records.withLock { $0.count } }

    /// Decoded samples so far, in arrival order.
    public var samples: [RefclockRecorder.Sample] { datagrams.compactMap(\.sample) }

    /// Stops the thread, closes the sockets and removes the socket file.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        stopping.store(true, ordering: .releasing)
        _ = finished.wait(timeout: .now() + 2)
        recorder.close()
    }
}

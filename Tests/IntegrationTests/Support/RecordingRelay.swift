import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A recording SOCK listener between vmclockd and chronyd: it binds a Unix
/// datagram socket at `path` (vmclockd's `--refclock-socket`), records every
/// datagram with the time it arrived and its fields decoded here, from the
/// bytes, per chrony's `struct sock_sample` (independently of the daemon's
/// own encoder), and forwards each datagram unchanged to chronyd's refclock
/// socket. Runs on its own thread until `stop()`.
///
/// What vmclockd sends and what chronyd is given are then the same list: a
/// datagram not in it never reached chronyd.
final class RecordingRelay: Sendable {
    /// chrony's `struct sock_sample` (refclock_sock.c), 64-bit Linux, native
    /// byte order: `struct timeval tv` (tv_sec 8, tv_usec 8) · `double offset`
    /// · `int pulse` · `int leap` · `int _pad` · `int magic` = 40 bytes.
    struct Sample: Equatable, Sendable {
        static let byteCount = 40
        static let chronyMagic: Int32 = 0x534f_434b  // "SOCK"

        var tvSeconds: Int64
        var tvMicroseconds: Int64
        /// True time − system time at tv, seconds.
        var offset: Double
        var pulse: Int32
        var leap: Int32
        var pad: Int32
        var magic: Int32

        /// Nil unless exactly 40 bytes (what chronyd accepts by length).
        init?(bytes: [UInt8]) {
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
        var tvNanoseconds: Int64 { tvSeconds * 1_000_000_000 + tvMicroseconds * 1000 }

        /// What chronyd checks before it takes a sample.
        var isWellFormed: Bool { magic == Self.chronyMagic && (0..<1_000_000).contains(tvMicroseconds) }
    }

    struct Datagram: Sendable {
        /// CLOCK_REALTIME when the relay read it, ns.
        var receivedNanoseconds: Int64
        var bytes: [UInt8]
        /// Decoded, if 40 bytes long.
        var sample: Sample?
        /// 0 if forwarded, else the errno of the forwarding sendto; nil
        /// when there is nowhere to forward to.
        var forwardErrno: Int32?
        /// CLOCK_REALTIME right after forwarding, ns.
        var forwardedNanoseconds: Int64

        var wasForwarded: Bool { forwardErrno == 0 }
    }

    let path: String
    let forwardPath: String?
    private let listener: Int32
    private let sender: Int32
    private let records = Mutex<[Datagram]>([])
    private let stopping = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    struct Failure: Error, CustomStringConvertible {
        var what: String
        var errno: Int32
        var description: String { "relay: \(what): \(String(cString: strerror(errno)))" }
    }

    /// Binds `path` (replacing a stale file) and starts relaying to `forwardPath`.
    init(listeningAt path: String, forwardingTo forwardPath: String?) throws {
        self.path = path
        self.forwardPath = forwardPath
        let type = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        listener = socket(AF_UNIX, type, 0)
        sender = socket(AF_UNIX, type | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard listener >= 0, sender >= 0 else {
            let error = Failure(what: "socket", errno: errno)
            if listener >= 0 { close(listener) }
            if sender >= 0 { close(sender) }
            throw error
        }
        unlink(path)
        let bound = Self.withAddress(path) { bind(listener, $0, $1) }
        guard bound == 0 else {
            let error = Failure(what: "bind \(path)", errno: errno)
            close(listener)
            close(sender)
            throw error
        }
        let thread = Thread { [self] in
            relay()
            finished.signal()
        }
        thread.name = "recording-relay"
        thread.start()
    }

    deinit { stop() }

    /// Every datagram so far, in arrival order.
    var datagrams: [Datagram] { records.withLock { $0 } }

    var count: Int { records.withLock { $0.count } }

    /// Decoded samples so far, in arrival order.
    var samples: [Sample] { datagrams.compactMap(\.sample) }

    /// Stops the thread, closes the sockets and removes the socket file.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        stopping.store(true, ordering: .releasing)
        _ = finished.wait(timeout: .now() + 2)
        close(listener)
        close(sender)
        unlink(path)
    }

    /// Polls at most 20 ms at a time so `stop()` is seen promptly.
    private func relay() {
        var buffer = [UInt8](repeating: 0, count: 512)
        while !stopping.load(ordering: .acquiring) {
            var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 20) > 0 else { continue }
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(listener, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                guard count >= 0 else { break }
                let received = Self.realtimeNanoseconds()
                let bytes = Array(buffer[..<count])
                var forwardErrno: Int32?
                if let forwardPath {
                    let sent = Self.withAddress(forwardPath) { address, length in
                        bytes.withUnsafeBytes { sendto(sender, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, length) }
                    }
                    forwardErrno = sent == bytes.count ? 0 : (sent < 0 ? errno : EMSGSIZE)
                }
                let datagram = Datagram(
                    receivedNanoseconds: received, bytes: bytes, sample: Sample(bytes: bytes),
                    forwardErrno: forwardErrno, forwardedNanoseconds: Self.realtimeNanoseconds())
                records.withLock { $0.append(datagram) }
            }
        }
    }

    static func realtimeNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
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

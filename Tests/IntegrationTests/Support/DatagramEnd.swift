import Foundation
import TestSupport
import PeerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A bound Unix datagram socket of the test's (root's): chronyd's command
/// socket's place, or a forger's.
final class DatagramEnd {
    struct Request {
        var command: UInt16
        var sequence: UInt32
        /// The requester's bound path, where the reply goes.
        var sender: String
    }

    let path: String
    private let descriptor: Int32

    init(bindingTo path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        unlink(path)
        let bound = withAddress(path) { bind(descriptor, $0, $1) }
        guard bound == 0 else { throw HarnessError("bind \(path): \(String(cString: strerror(errno)))") }
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// The next request for `command` received within `seconds` (others are
    /// left unanswered); nil if none came.
    func nextRequest(_ command: UInt16, within seconds: Double) -> Request? {
        let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
        var bytes = [UInt8](repeating: 0, count: 1024)
        while monotonicNanoseconds() < deadline {
            var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            var address = sockaddr_un()
            var length = socklen_t(MemoryLayout<sockaddr_un>.size)
            let count = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(descriptor, &bytes, bytes.count, 0, $0, &length) }
            }
            guard count >= 20, bytes[0] == 6, bytes[1] == 1 else { continue }
            let received = UInt16(bytes[4]) << 8 | UInt16(bytes[5])
            let sequence = bytes[8..<12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let sender = withUnsafeBytes(of: address.sun_path) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if received == command { return Request(command: received, sequence: sequence, sender: sender) }
        }
        return nil
    }

    func send(_ bytes: [UInt8], to path: String) throws {
        let sent = withAddress(path) { sendto(descriptor, bytes, bytes.count, 0, $0, $1) }
        guard sent == bytes.count else { throw HarnessError("sendto \(path): \(String(cString: strerror(errno)))") }
    }

    private func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8.prefix(raw.count - 1))
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}

/// A file's stat(2), nil if it has none.
func fileStatus(_ path: String) -> stat? {
    var info = stat()
    return stat(path, &info) == 0 ? info : nil
}

let setprivProgram = "/usr/bin/setpriv"
let loggerProgram = "/usr/bin/logger"

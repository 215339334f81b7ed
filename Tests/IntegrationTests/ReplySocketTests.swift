import Foundation
import PeerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension LiveDevice {
    /// The socket chronyd answers the daemon's commands on, against every
    /// local user and process but chronyd: only chronyd's user may write to
    /// it (a full queue loses chronyd's replies, and an unacknowledged reset
    /// holds the daemon), and only what comes from chronyd's command socket
    /// is taken for a reply. The other user is a real one (`nobody`, through
    /// setpriv), sending with util-linux's logger; chronyd is the real one,
    /// but where a reply must be forged with the right sequence number: then
    /// the test plays chronyd's command socket to learn it.
    @Suite(
        .enabled(
            if: ChronyProcess.isAvailable && access(setprivProgram, X_OK) == 0 && access(loggerProgram, X_OK) == 0
                && getpwnam("nobody") != nil,
            "needs root, /usr/sbin/chronyd, setpriv, logger and the user nobody"))
    struct ReplySocket {
        @Test func theReplySocketIsWritableByChronydsUserAlone() throws {
            let rig = try Rig(chronyd: .noselect, relay: false, ownReplySocket: true)
            defer { rig.stop() }
            // chronyd has answered on it: it may write to it.
            try #require(published(rig) { $0.state?.chronyd?.vmck != nil } != nil, "\(rig.report)")
            let socket = try #require(fileStatus(rig.replySocketPath), "\(rig.report)")
            let command = try #require(fileStatus(rig.commandPath))
            #expect(command.st_uid != 0, "chronyd runs as its own user")
            #expect(socket.st_uid == command.st_uid, "owner \(socket.st_uid), chronyd's \(command.st_uid)")
            #expect(socket.st_mode & 0o7777 == 0o600, "mode \(String(socket.st_mode & 0o7777, radix: 8))")
        }

        /// An unprivileged user tries to fill the reply socket's queue while
        /// a disruption is handled: it may not send at all, and chronyd's
        /// acknowledgement of the one reset arrives.
        @Test func anotherUserCannotFillTheReplySocketAndTheResetIsAcknowledged() throws {
            let rig = try Rig(chronyd: .noselect, relay: false, ownReplySocket: true)
            defer { rig.stop() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            try #require(eventually(within: 10) { fileExists(rig.replySocketPath) }, "\(rig.report)")

            let lines = rig.dir.path("flood.txt")
            try writeFile(lines, String(repeating: "not chronyd\n", count: 100_000))
            let output = rig.dir.path("flood.out")
            let flood = try Child(
                name: "flood as nobody", arguments: Self.asNobody + [loggerProgram, "--socket-errors=on", "-d", "-u", rig.replySocketPath, "-f", lines],
                stdout: .file(output), stderr: .file(output))
            defer { _ = flood.stop() }

            try rig.simulator.send("disrupt")
            let acknowledged = rig.daemon.waitForLog(containing: "chronyd acknowledged 'reset sources' for disruption 1", within: 20)
            #expect(acknowledged != nil, "flood: \(flood.exitDescription) \(readFile(output) ?? "")\n\(rig.report)")
            try #require(flood.waitForExit(seconds: 10), "nobody is still sending to the reply socket\n\(rig.report)")
            #expect(flood.exit == .status(1), "\(flood.exitDescription)")
            #expect(readFile(output)?.contains("Permission denied") == true, "\(readFile(output) ?? "")")
            #expect(rig.daemon.lines(containing: "disruption: disruption_marker changed").count == 1, "\(rig.report)")
            #expect(rig.daemon.lines(containing: "chronyd acknowledged 'reset sources'").count == 1, "\(rig.report)")
            #expect(rig.daemon.lines(containing: "has not acknowledged").isEmpty, "\(rig.report)")
        }

        /// A root process replies to the daemon's reset from a socket of its
        /// own, with the request's sequence number: ignored, and logged; the
        /// same reply from chronyd's command socket is the acknowledgement.
        @Test func aReplyFromAnotherSocketIsNotTheAcknowledgement() throws {
            let rig = try Rig(chronyd: .later, relay: false)
            defer { rig.stop() }
            try makeDirectory(rig.chronyDirectory + "/cmd")
            let chronyd = try DatagramEnd(bindingTo: rig.commandPath)
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")

            try rig.simulator.send("disrupt")
            let first = try #require(chronyd.nextRequest(Self.resetSources, within: 10), "no reset asked\n\(rig.report)")
            let forger = try DatagramEnd(bindingTo: rig.dir.path("forger.sock"))
            try forger.send(Self.reply(to: first), to: first.sender)
            let ignored = rig.daemon.waitForLog(containing: "ignored a datagram on the reply socket from \(forger.path)", within: 10)
            #expect(ignored != nil, "\(rig.report)")
            #expect(rig.daemon.lines(containing: "chronyd acknowledged").isEmpty, "the forged reply was taken\n\(rig.report)")
            let owed = try #require(try status(rig)?.state)
            #expect(owed.reset?.acknowledged == false && owed.reason == "reset-pending", "\(owed)")

            // The daemon asks again (resends, new attempts from a new reply
            // socket); answered from chronyd's socket, that is the
            // acknowledgement. Each is answered: an older one's reply socket
            // may be gone.
            let acknowledged = eventually(within: 20, every: 0) {
                if let again = chronyd.nextRequest(Self.resetSources, within: 0.5) {
                    try? chronyd.send(Self.reply(to: again), to: again.sender)
                }
                return rig.daemon.lines(containing: "chronyd acknowledged 'reset sources' for disruption 1").count == 1
            }
            #expect(acknowledged, "\(rig.report)")
            #expect(rig.daemon.lines(containing: "ignored a datagram").count == 1, "\(rig.report)")
        }

        static let resetSources: UInt16 = 66

        /// setpriv as the user nobody, with its group and no others.
        static var asNobody: [String] {
            let nobody = getpwnam("nobody")!.pointee
            return [setprivProgram, "--reuid=\(nobody.pw_uid)", "--regid=\(nobody.pw_gid)", "--clear-groups"]
        }

        /// chronyd's successful reply to a request without data (RPY_NULL,
        /// status 0), as chrony's candm.h lays it out: version 6 · pkt_type 2
        /// · res1 · res2 · command · reply · status · pad1–3 · sequence ·
        /// pad4 · pad5 (28 bytes, big-endian).
        static func reply(to request: DatagramEnd.Request) -> [UInt8] {
            var bytes: [UInt8] = [6, 2, 0, 0]
            bytes += bigEndian(request.command) + bigEndian(UInt16(1)) + bigEndian(UInt16(0)) + [UInt8](repeating: 0, count: 6)
            bytes += bigEndian(request.sequence) + [UInt8](repeating: 0, count: 8)
            return bytes
        }
    }
}

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

private func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}

/// A file's stat(2), nil if it has none.
func fileStatus(_ path: String) -> stat? {
    var info = stat()
    return stat(path, &info) == 0 ? info : nil
}

let setprivProgram = "/usr/bin/setpriv"
let loggerProgram = "/usr/bin/logger"

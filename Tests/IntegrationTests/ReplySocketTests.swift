import Foundation
import TestSupport
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
            bytes += ChronyReplyBytes.be(request.command) + ChronyReplyBytes.be(UInt16(1)) + ChronyReplyBytes.be(UInt16(0)) + [UInt8](repeating: 0, count: 6)
            bytes += ChronyReplyBytes.be(request.sequence) + [UInt8](repeating: 0, count: 8)
            return bytes
        }
    }
}

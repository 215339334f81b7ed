#if canImport(Glibc)
import Glibc
#endif
import ChronyProtocol
import ErrorNumbers
import SystemPackage
import VMClockSystem

/// chronyd's command socket without blocking: one request at a time, sent
/// now, its reply taken when the caller's poll says `descriptor` is readable,
/// resent with chronyd's attempt counter when `deadline` passes. The daemon's
/// single loop waits on it with everything else; the test harness's blocking
/// `ControlClient` waits on it alone.
public final class ControlChannel {
    public let serverPath: String
    private let clientPath: String?
    private var socket: UnixDatagramSocket?
    private var sequence = UInt32.random(in: 1...UInt32.max)
    private var pending: (request: ControlRequest, attempt: Int, deadline: Int64)?
    public var timeoutNanoseconds: Int64 = 500_000_000
    public var attempts = 3
    /// Replies are read into this one buffer: a request's round trip
    /// allocates nothing (the daemon asks once a second in steady state).
    private var buffer = [UInt8](repeating: 0, count: 1024)
    private var sender = SenderAddress()
    /// Datagrams that did not come from chronyd's command socket, ignored:
    /// only root and chronyd's user can write to the reply socket, and none
    /// of theirs but chronyd's may pass for a reply.
    public private(set) var foreignDatagrams = 0
    /// The last such datagram's sender path ("unbound" without one), for the log.
    public var lastForeignSender: String { lastForeign.path ?? "an unbound socket" }
    private var lastForeign = SenderAddress()

    /// The reply socket is bound at `clientPath`, by default next to chronyd's
    /// command socket (as chronyc does), and made writable by chronyd's user
    /// alone (the command socket's owner): chronyd must be able to reply,
    /// and nobody else to fill its queue (chronyd's replies to a full one
    /// are lost).
    public init(serverPath: String, clientPath: String? = nil) {
        self.serverPath = serverPath
        self.clientPath = clientPath
    }

    /// The reply socket to wait on while a request is pending.
    public var descriptor: Int32? { pending == nil ? nil : socket?.descriptor }
    /// When the pending request is resent or given up (monotonic ns).
    public var deadline: Int64? { pending?.deadline }
    public var isIdle: Bool { pending == nil }
    public var pendingCommand: ControlCommand? { pending?.request.command }

    /// Sends `command`; a failure to send at all is the outcome at once.
    public func start(_ command: ControlCommand, now: Int64) -> ControlOutcome? {
        precondition(pending == nil, "one request at a time")
        do throws(ControlFailure) {
            let socket = try openSocket()
            sequence &+= 1
            let request = ControlRequest(command: command, sequence: sequence, attempt: 0)
            pending = (request, 0, now + timeoutNanoseconds)
            try transmit(request, on: socket)
            return nil
        } catch {
            return fail(command, error)
        }
    }

    /// Takes what arrived; the outcome once the matching reply is among it:
    /// this request's sequence and command, and a reply type chronyd answers
    /// it with (its own, or RPY_NULL, which carries errors). Stale replies
    /// (to an earlier attempt or request) are skipped.
    public func readable() -> ControlOutcome? {
        guard let pending, let socket else { return nil }
        let command = pending.request.command
        while let datagram = receive(on: socket) {
            guard let reply = datagram, reply.sequence == pending.request.sequence, reply.command == command.code,
                reply.reply == 1 || reply.reply == ControlReply.replyType(command)
            else { continue }
            self.pending = nil
            return reply.status == .success ? .replied(command, reply) : .failed(command, .refused(command, reply.status))
        }
        return nil
    }

    /// Past the deadline: resend, or give up after `attempts`.
    public func timeUp(now: Int64) -> ControlOutcome? {
        guard let current = pending, now >= current.deadline, let socket else { return nil }
        let command = current.request.command
        guard current.attempt + 1 < attempts else { return fail(command, .noReply(path: serverPath, attempts: attempts)) }
        let request = ControlRequest(command: command, sequence: current.request.sequence, attempt: UInt16(current.attempt + 1))
        pending = (request, current.attempt + 1, now + timeoutNanoseconds)
        do throws(ControlFailure) {
            try transmit(request, on: socket)
            return nil
        } catch {
            return fail(command, error)
        }
    }

    /// The next datagram waiting: .some(nil) if it is no reply at all (or
    /// not chronyd's), nil if none waits.
    private func receive(on socket: UnixDatagramSocket) -> ControlReply?? {
        buffer.withUnsafeMutableBytes { raw in
            guard let count = try? socket.receive(into: raw, from: &sender) else { return nil }
            guard sender.isPath(serverPath) || sender.isSameFile(as: serverPath) else {
                foreignDatagrams &+= 1
                lastForeign = sender
                return .some(nil)
            }
            return .some(ControlReply(parsing: UnsafeRawBufferPointer(rebasing: raw[..<count])))
        }
    }

    private func transmit(_ request: ControlRequest, on socket: UnixDatagramSocket) throws(ControlFailure) {
        // The failure comes out as a value: withUnsafeTemporaryAllocation
        // rethrows untyped before Swift 6.3 (Debian's 6.2 builds arm64).
        let failure: Errno? = withUnsafeTemporaryAllocation(byteCount: ControlRequest.maximumLength, alignment: 8) { raw in
            let length = request.encode(into: raw)
            do throws(Errno) {
                try socket.send(UnsafeRawBufferPointer(rebasing: raw[..<length]), to: serverPath)
                return nil
            } catch { return error }
        }
        if let failure { throw .unreachable(path: serverPath, ErrorNumber(failure)) }
    }

    private func fail(_ command: ControlCommand, _ failure: ControlFailure) -> ControlOutcome {
        pending = nil
        // Rebind next time: chronyd's socket directory may have been
        // recreated under our reply socket, which then never hears back.
        if case .refused = failure {} else { socket = nil }
        return .failed(command, failure)
    }

    private func openSocket() throws(ControlFailure) -> UnixDatagramSocket {
        if let socket { return socket }
        // Whose replies to let in: no command socket, no chronyd to reply.
        let chronyd: Stat
        do throws(Errno) {
            chronyd = try Stat(path: serverPath)
        } catch {
            throw .unreachable(path: serverPath, ErrorNumber(error))
        }
        let directory = serverPath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        do {
            let socket = try UnixDatagramSocket()
            let name = "vmclockd.\(getpid()).\(UInt32.random(in: 0...UInt32.max)).sock"  // unique per client
            try socket.bind(path: clientPath ?? "\(directory)/\(name)", writableBy: chronyd.userID.rawValue, group: chronyd.groupID.rawValue)
            self.socket = socket
            return socket
        } catch {
            // No directory to bind in: chronyd has not created its socket directory.
            throw error == .noSuchFileOrDirectory ? .unreachable(path: serverPath, ErrorNumber(error)) : .socket(ErrorNumber(error))
        }
    }
}

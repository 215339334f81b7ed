#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A native client of chronyd's command socket (what `chronyc -h PATH` does
/// over a Unix socket). Requests over the Unix socket are fully privileged:
/// access is the socket's file permissions.
public final class ControlClient {
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// No command socket at the path, or chronyd not listening on it.
        case unreachable(path: String, Errno)
        /// Sent, but no reply in time: chronyd cannot write to our reply
        /// socket, or dropped the request (too old for the command's padding).
        case noReply(path: String, attempts: Int)
        /// chronyd answered with an error status.
        case refused(ControlCommand, ControlReply.Status)
        case socket(Errno)

        public var description: String {
            switch self {
            case .unreachable(let path, let errno):
                "chronyd's command socket \(path) is unreachable (\(errno)): is chronyd running with `bindcmdaddress \(path)`?"
            case .noReply(let path, let attempts):
                "no reply from chronyd on \(path) after \(attempts) attempts: chronyd too old (reset sources needs 4.0+) or cannot write to our reply socket"
            case .refused(let command, let status):
                "chronyd refused '\(command)': \(status)"
            case .socket(let errno):
                "cannot create the command client socket: \(errno)"
            }
        }
    }

    public let serverPath: String
    private let socket: UnixDatagramSocket
    private var sequence = UInt32.random(in: 1...UInt32.max)
    public var timeoutMilliseconds: Int32 = 500
    public var attempts = 3

    /// Binds the reply socket at `clientPath`, by default next to chronyd's
    /// command socket (as chronyc does): chronyd, running as its own user,
    /// must be able to reach it, and that directory is one it can.
    public init(serverPath: String, clientPath: String? = nil) throws(Failure) {
        self.serverPath = serverPath
        let directory = serverPath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        do {
            socket = try UnixDatagramSocket()
            let name = "vmclockd.\(getpid()).\(UInt32.random(in: 0...UInt32.max)).sock"  // unique per client
            try socket.bind(path: clientPath ?? "\(directory)/\(name)", mode: 0o666)
        } catch {
            // No directory to bind in: chronyd has not created its socket directory.
            throw error == .noSuchFileOrDirectory ? .unreachable(path: serverPath, error) : .socket(error)
        }
    }

    /// Sends `command` and waits for the matching reply, retrying with the
    /// attempt counter chronyd expects for a resend.
    @discardableResult
    public func request(_ command: ControlCommand) throws(Failure) -> ControlReply {
        sequence &+= 1
        for attempt in 0..<attempts {
            let request = ControlRequest(command: command, sequence: sequence, attempt: UInt16(attempt))
            do {
                try socket.send(request.encode(), to: serverPath)
            } catch {
                throw .unreachable(path: serverPath, error)
            }
            if let reply = awaitReply(to: request) {
                guard reply.status == .success else { throw .refused(command, reply.status) }
                return reply
            }
        }
        throw .noReply(path: serverPath, attempts: attempts)
    }

    /// The reply with our sequence number, or nil after the timeout. Stale
    /// replies (to an earlier attempt) are skipped.
    private func awaitReply(to request: ControlRequest) -> ControlReply? {
        var remaining = timeoutMilliseconds
        while remaining > 0 {
            let started = monotonicMilliseconds()
            guard socket.waitReadable(milliseconds: remaining) else { return nil }
            while let bytes = try? socket.receive() {
                if let reply = ControlReply(bytes: bytes), reply.sequence == request.sequence,
                    reply.command == request.command.rawValue
                {
                    return reply
                }
            }
            remaining -= Int32(clamping: monotonicMilliseconds() - started)
        }
        return nil
    }

    private func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

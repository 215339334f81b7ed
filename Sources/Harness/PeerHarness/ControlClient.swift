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
        /// chronyd's reply lacks the data the request asks for (too short).
        case malformedReply(ControlCommand)
        case socket(Errno)

        public var description: String {
            switch self {
            case .unreachable(let path, let errno):
                "chronyd's command socket \(path) is unreachable (\(errno)): chronyd is not running, or binds its command socket elsewhere or nowhere; put `bindcmdaddress \(path)` in chrony.conf (or set vmclockd's control-socket to the socket chronyd binds) and restart chronyd"
            case .noReply(let path, let attempts):
                "no reply from chronyd on \(path) after \(attempts) attempts: chronyd too old (reset sources needs 4.0+) or cannot write to our reply socket"
            case .refused(let command, let status):
                "chronyd refused '\(command)': \(status)"
            case .malformedReply(let command):
                "chronyd's reply to '\(command)' is too short for its data"
            case .socket(let errno):
                "cannot create the command client socket: \(errno)"
            }
        }
    }

    public var serverPath: String { channel.serverPath }
    private let channel: ControlChannel
    public var timeoutMilliseconds: Int32 = 500 { didSet { channel.timeoutNanoseconds = Int64(timeoutMilliseconds) * 1_000_000 } }
    public var attempts = 3 { didSet { channel.attempts = attempts } }

    /// Binds the reply socket at `clientPath`, by default next to chronyd's
    /// command socket (as chronyc does).
    public init(serverPath: String, clientPath: String? = nil) throws(Failure) {
        channel = ControlChannel(serverPath: serverPath, clientPath: clientPath)
    }

    /// Sends `command` and waits for the matching reply, retrying with the
    /// attempt counter chronyd expects for a resend.
    @discardableResult
    public func request(_ command: ControlCommand) throws(Failure) -> ControlReply {
        var outcome = channel.start(command, now: monotonicNanoseconds())
        while outcome == nil {
            let remaining = (channel.deadline ?? 0) - monotonicNanoseconds()
            if remaining > 0, let fd = channel.descriptor {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&pfd, 1, Int32(clamping: (remaining + 999_999) / 1_000_000)) > 0 {
                    outcome = channel.readable()
                    continue
                }
            }
            outcome = channel.timeUp(now: monotonicNanoseconds())
        }
        switch outcome! {
        case .replied(_, let reply): return reply
        case .failed(_, let failure): throw failure
        }
    }

    private func monotonicNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

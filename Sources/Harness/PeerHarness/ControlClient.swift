#if canImport(Glibc)
import Glibc
#endif
import ChronyClients
import ChronyProtocol

/// A native client of chronyd's command socket (what `chronyc -h PATH` does
/// over a Unix socket). Requests over the Unix socket are fully privileged:
/// access is the socket's file permissions. Tests and benchmarks only: the
/// daemon waits on its `ControlChannel` with everything else.
public final class ControlClient {
    public var serverPath: String { channel.serverPath }
    private let channel: ControlChannel
    public var timeoutMilliseconds: Int32 = 500 { didSet { channel.timeoutNanoseconds = Int64(timeoutMilliseconds) * 1_000_000 } }
    public var attempts = 3 { didSet { channel.attempts = attempts } }

    /// Binds the reply socket at `clientPath`, by default next to chronyd's
    /// command socket (as chronyc does).
    public init(serverPath: String, clientPath: String? = nil) throws(ControlFailure) {
        channel = ControlChannel(serverPath: serverPath, clientPath: clientPath)
    }

    /// Sends `command` and waits for the matching reply, retrying with the
    /// attempt counter chronyd expects for a resend.
    @discardableResult
    public func request(_ command: ControlCommand) throws(ControlFailure) -> ControlReply {
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

import SystemPackage

/// Sends samples to the socket chronyd created for `refclock SOCK PATH`.
public final class RefclockSocket {
    public enum SendResult: Equatable, Sendable {
        case sent
        /// No socket at the path, or nobody bound to it: chronyd is not
        /// running or not configured with this refclock.
        case noListener(Errno)
        /// chronyd is not reading fast enough; the sample is dropped.
        case full
        /// The socket is root's (chronyd creates it before dropping privileges).
        case permissionDenied
        case failed(Errno)
    }

    public let path: String
    private let socket: UnixDatagramSocket

    public init(path: String) throws(Errno) {
        self.path = path
        socket = try UnixDatagramSocket()
    }

    public func send(_ sample: SockSample) -> SendResult {
        do {
            try socket.send(sample.encode(), to: path)
            return .sent
        } catch {
            switch error {
            case .noSuchFileOrDirectory, .connectionRefused, .socketNotConnected: return .noListener(error)
            case .resourceTemporarilyUnavailable, .noBufferSpace: return .full
            case .permissionDenied, .notPermitted: return .permissionDenied
            default: return .failed(error)
            }
        }
    }
}

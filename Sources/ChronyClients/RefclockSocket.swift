import ChronyProtocol
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
    private var connected = false

    public init(path: String) throws(Errno) {
        self.path = path
        socket = try UnixDatagramSocket()
    }

    /// Sends one sample. The socket stays connected to chronyd's; when
    /// chronyd restarts, its socket file is a new socket, the old peer
    /// refuses, and the same call connects to the new one and sends again.
    public func send(_ sample: SockSample) -> SendResult {
        withUnsafeTemporaryAllocation(byteCount: SockSample.byteCount, alignment: 8) { buffer in
            sample.encode(into: buffer)
            let bytes = UnsafeRawBufferPointer(buffer)
            let wasConnected = connected
            let first = attempt(bytes)
            guard case .noListener = first, wasConnected else { return first }
            return attempt(bytes)
        }
    }

    private func attempt(_ bytes: UnsafeRawBufferPointer) -> SendResult {
        do throws(Errno) {
            try sendConnected(bytes)
            return .sent
        } catch {
            return Self.result(error)
        }
    }

    private func sendConnected(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        if !connected {
            try socket.connect(to: path)
            connected = true
        }
        do { try socket.send(bytes) } catch {
            if error != .resourceTemporarilyUnavailable, error != .noBufferSpace { connected = false }
            throw error
        }
    }

    private static func result(_ error: Errno) -> SendResult {
        switch error {
        case .noSuchFileOrDirectory, .connectionRefused, .socketNotConnected: .noListener(error)
        case .resourceTemporarilyUnavailable, .noBufferSpace: .full
        case .permissionDenied, .notPermitted: .permissionDenied
        default: .failed(error)
        }
    }
}

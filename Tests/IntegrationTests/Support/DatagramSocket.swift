import PeerHarness

#if canImport(Glibc)
import Glibc
#endif

/// A Unix datagram socket bound at `path`, for the test's own ends
/// (`DatagramInbox`, `NotifyListener`); its descriptor.
func boundDatagramSocket(_ path: String) throws -> Int32 {
    let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard bound == 0 else {
        let reason = String(cString: strerror(errno))
        close(descriptor)
        throw HarnessError("bind \(path): \(reason)")
    }
    return descriptor
}

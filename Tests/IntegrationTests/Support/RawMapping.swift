import Foundation
import TestSupport
import PeerHarness
import Testing
import VMClockAccess
import VMClockPage
import VMClockSimulation

/// The page mapped read-only with no seqlock at all: the negative control.
final class RawMapping {
    let bytes: UnsafeRawBufferPointer

    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw POSIXError(.ENOENT) }
        defer { close(fd) }
        guard let base = mmap(nil, 4096, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            throw POSIXError(.EINVAL)
        }
        bytes = UnsafeRawBufferPointer(start: base, count: 4096)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), 4096) }
}

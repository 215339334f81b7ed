import Dispatch
import PeerHarness
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The relay for the soak: a `RefclockRecorder` drained on a thread of its
/// own, forwarding every datagram to chronyd, handing compact records to the
/// caller (`take()`), so an hour of samples costs a few MB.
final class SoakRelay: Sendable {
    struct Record: Sendable {
        /// Kernel queue time (SO_TIMESTAMPNS), else when taken off the socket.
        var queued: Int64
        var kernelStamped: Bool
        var tv: Int64
        var offsetNanoseconds: Double
        var wellFormed: Bool
        var forwarded: Bool
    }

    private let recorder: RefclockRecorder
    private let pending = Mutex<[Record]>([])
    private let stopping = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(listeningAt path: String, forwardingTo forwardPath: String) throws {
        recorder = try RefclockRecorder(path: path, forwardingTo: forwardPath)
        DispatchQueue(label: "soak-relay").async { [self] in
            while !stopping.load(ordering: .acquiring) {
                let new = recorder.receive(waitingUpTo: 20).map { d -> Record in
                    let s = d.sample
                    return Record(
                        queued: d.queuedNanoseconds ?? d.receivedNanoseconds, kernelStamped: d.queuedNanoseconds != nil,
                        tv: s?.tvNanoseconds ?? 0, offsetNanoseconds: (s?.offset ?? .nan) * 1e9,
                        wellFormed: s.map { $0.isWellFormed && $0.pulse == 0 && $0.pad == 0 } ?? false, forwarded: d.wasForwarded)
                }
                if !new.isEmpty { pending.withLock { $0 += new } }
            }
            finished.signal()
        }
    }

    deinit { stop() }

    var path: String { recorder.path }

    /// Everything received since the last call, in arrival order.
    func take() -> [Record] {
        pending.withLock { records in
            defer { records = [] }
            return records
        }
    }

    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        stopping.store(true, ordering: .releasing)
        _ = finished.wait(timeout: .now() + 2)
        recorder.close()
    }
}

/// Open descriptors of a process (entries of /proc/PID/fd).
func openDescriptorCount(_ pid: pid_t) -> Int {
    guard let dir = opendir("/proc/\(pid)/fd") else { return -1 }
    defer { closedir(dir) }
    var count = 0
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if Int(name) != nil { count += 1 }
    }
    return count
}

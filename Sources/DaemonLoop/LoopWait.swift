#if canImport(Glibc)
import Glibc
#endif
import CVMClockCounter
import VMClockAccess

/// The loop's one blocking call: ppoll() on chronyd's reply socket while a
/// request is out and on the device while it notifies, until a deadline,
/// under the mask that lets the daemon's signals end it. Idle, it polls no
/// descriptor at all: the cheapest wake-up the kernel has. Its descriptor
/// array is kept between calls: waiting allocates nothing.
struct LoopWait {
    struct Ready {
        var control = false
        /// The device's `revents`, when it was waited on and is ready.
        var device: Int16?
    }

    private var descriptors: [pollfd] = []

    init() { descriptors.reserveCapacity(2) }

    /// Waits until a descriptor is ready, a signal arrives, or `deadline`
    /// (monotonic ns) passes.
    mutating func wait(control: Int32?, device: Int32?, until deadline: Int64, signals: inout SignalWatcher) -> Ready {
        descriptors.removeAll(keepingCapacity: true)
        if let control { descriptors.append(pollfd(fd: control, events: Int16(POLLIN), revents: 0)) }
        // POLLOUT too: poll() reports only what was asked for (and errors),
        // and a read-only device answering "writable" is the kernel's default
        // mask, a device with no poll handler, which must not be waited on.
        if let device { descriptors.append(pollfd(fd: device, events: Int16(POLLIN | POLLOUT), revents: 0)) }
        let remaining = max(deadline - SystemClock.monotonicNanoseconds(), 0)
        let count = descriptors.withUnsafeMutableBufferPointer { buffer in
            withUnsafePointer(to: signals.waitMask) { mask in
                vmclock_ppoll(buffer.baseAddress, nfds_t(buffer.count), remaining, mask)
            }
        }
        var ready = Ready()
        guard count > 0 else { return ready }
        if control != nil { ready.control = descriptors[0].revents != 0 }
        if device != nil, let last = descriptors.last, last.revents != 0 { ready.device = last.revents }
        return ready
    }
}

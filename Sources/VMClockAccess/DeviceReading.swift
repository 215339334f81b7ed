import VMClockPage

/// A page and the device it was read from: the one place that asks "is it
/// still the same page" (VMClockDevice.isUnchanged: seq_count and the
/// page's identity under the seqlock). A sample is sent only while its
/// reading `isCurrent`; clock readings belong to a page only when taken
/// `whileCurrent`.
public struct PageReading {
    public let device: VMClockDevice
    public let page: VMClockPage

    public init(device: VMClockDevice, page: VMClockPage) {
        (self.device, self.page) = (device, page)
    }

    /// Nothing was published since the page was read.
    public var isCurrent: Bool { device.isUnchanged(since: page) }

    /// `measure()`'s result when the page was unchanged before it and still
    /// is after it, so what it measured belongs to the page; nil if the
    /// host published in between (or already had: nothing is measured).
    @inline(__always)
    public func whileCurrent<Measured>(_ measure: () -> Measured) -> Measured? {
        guard isCurrent else { return nil }
        let measured = measure()
        return isCurrent ? measured : nil
    }
}

extension VMClockDevice {
    /// A snapshot and a cross-timestamp taken while the page stayed the same:
    /// if the host published an update between the two, both are taken again,
    /// so the bracket is never evaluated with fields it was not read under.
    public func readWithSystemClock(
        attempts: Int = CrossTimestamp.defaultAttempts, timeout: Duration = defaultTimeout
    ) throws(SnapshotError) -> (page: VMClockPage, bracket: CounterBracket) {
        var wait = BusyWait(timeout: timeout)
        while true {
            let reading = PageReading(device: self, page: try snapshot(timeout: timeout))
            if let bracket = reading.whileCurrent({ CrossTimestamp.measure(attempts: attempts) }) {
                return (reading.page, bracket)
            }
            guard wait.next() else { throw .busy(seqCount: reading.page.seqCount, timeout: timeout) }
        }
    }
}

/// A device path that survives its file disappearing and reappearing: each
/// `device()` call reopens when the path names a new file.
public final class ReopeningDevice {
    public let path: String
    /// How often to check that the path still names the open file (a
    /// stat()): a device does not vanish often, and a look at the page
    /// should not cost a system call.
    public let replacementCheckNanoseconds: Int64
    private var open: VMClockDevice?
    private var nextCheck: Int64 = 0

    public init(path: String = VMClockDevice.defaultPath, replacementCheckNanoseconds: Int64 = 0) {
        self.path = path
        self.replacementCheckNanoseconds = replacementCheckNanoseconds
    }

    /// The open device, reopened if the path now names another file.
    public func device() throws(DeviceError) -> VMClockDevice {
        if let open {
            guard replacementCheckNanoseconds > 0 else {
                if !open.isReplaced { return open }
                return try reopen()
            }
            let now = SystemClock.monotonicNanoseconds()
            if now < nextCheck { return open }
            nextCheck = now + replacementCheckNanoseconds
            if !open.isReplaced { return open }
        }
        return try reopen()
    }

    private func reopen() throws(DeviceError) -> VMClockDevice {
        open = nil
        let fresh = try VMClockDevice(path: path)
        open = fresh
        return fresh
    }

    /// Forget the open device (SIGHUP, or after a read error).
    public func close() { open = nil }
}

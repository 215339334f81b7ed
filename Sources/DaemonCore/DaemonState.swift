import VMClockPage

/// Where the daemon stands. Only `tracking` sends samples to chronyd.
public enum DaemonState: Equatable, Sendable, CustomStringConvertible {
    /// No page seen yet.
    case starting
    /// Feeding chronyd.
    case tracking
    /// Not feeding chronyd, and why.
    case holding(HoldReason)
    /// The page carries no clock data (QEMU's device): disruptions are still
    /// passed on to chronyd, samples never.
    case disruptionOnly

    public var description: String {
        switch self {
        case .starting: "starting"
        case .tracking: "tracking"
        case .holding(let reason): "holding (\(reason))"
        case .disruptionOnly: "disruption-only"
        }
    }

    /// A short label for status lines and logs: "holding/settling".
    public var label: String {
        if case .holding(let reason) = self { return "holding/\(reason.kind)" }
        return name
    }

    public var holdReason: HoldReason? {
        if case .holding(let reason) = self { return reason }
        return nil
    }

    /// Every `name`, for metrics that list each state (0 or 1).
    public static let names = ["starting", "tracking", "holding", "disruption-only"]

    /// A short name for status lines and journal fields.
    public var name: String {
        switch self {
        case .starting: "starting"
        case .tracking: "tracking"
        case .holding: "holding"
        case .disruptionOnly: "disruption-only"
        }
    }
}

public enum HoldReason: Equatable, Sendable, CustomStringConvertible {
    case deviceUnavailable(DeviceError)
    /// The device is still there, but opening or reading it fails.
    case deviceFailing(DeviceError)
    case pageInvalid(PageError)
    /// seq_count stayed odd: the host is stuck mid-update.
    case busy
    /// The page gives no UTC (foreign counter, smeared or monotonic time, …);
    /// nil: its clock data is valid but gives none at this reading.
    case noTime(ClockDataError?)
    case clockStatus(ClockStatus)
    /// The page makes no maximum error valid (and estimates are not allowed).
    case noErrorBound
    case boundAbovePromise(boundNanoseconds: UInt64, promiseNanoseconds: UInt64)
    /// The counter's rate is still being measured (after start or a disruption).
    case calibrating
    case periodDisagrees(ppm: Double, tolerancePPM: Double)
    /// Near a leap second, or the page's anchor is before one it is evaluated after.
    case leapSecond
    /// After a disruption or a host step: chronyd has not yet acknowledged
    /// `reset sources`, so its history may still be the old host's (or the
    /// old time's).
    case resetPending
    /// Good again after a disruption, waiting out the (optional) settle time.
    case settling
    /// The counter is the TSC and the kernel marked it unstable.
    case tscUnstable

    public var description: String {
        switch self {
        case .deviceUnavailable(let why): "device unavailable: \(why)"
        case .deviceFailing(let why):
            "device read failing: \(why); retrying, backing off to once every \(Backoff.device.limitSeconds) s (the device is still there: not a disruption)"
        case .pageInvalid(let why): "page invalid: \(why)"
        case .busy: "page busy: the host left seq_count odd"
        case .noTime(let why?): "no time: \(why)"
        case .noTime(nil): "no time: the page gives no UTC at this reading"
        case .clockStatus(let status): "clock_status is \(status.rawValue) (\(status.name)): the host does not vouch for its time"
        case .noErrorBound: "the page gives no valid maximum error (time_maxerror and period_maxerror flags); see --allow-estimated-error"
        case .boundAbovePromise(let bound, let promise): "error bound \(bound) ns is above the promised \(promise) ns (--max-error)"
        case .calibrating: "measuring the counter rate against CLOCK_MONOTONIC_RAW"
        case .periodDisagrees(let ppm, let tolerance):
            "the page's counter period disagrees with the measured rate by \(Self.ppm(ppm)) ppm (tolerance \(Self.ppm(tolerance)) ppm)"
        case .leapSecond: "near a leap second, or the page was anchored before one (1 s off until the host re-anchors)"
        case .resetPending: "waiting for chronyd to acknowledge 'reset sources' after the disruption or host step"
        case .settling: "page good again, waiting out the settle time"
        case .tscUnstable:
            "the kernel marked the TSC unstable (dmesg: \"Marking TSC unstable\"; tsc is gone from the available clocksources): no reading of it can be trusted, as the kernel's own vmclock driver refuses too; fix the VM's TSC (an invariant TSC, vCPUs pinned, the hypervisor's TSC settings) and reboot the guest: the kernel never trusts it again until it boots"
        }
    }

    /// Equality for logging: a bound or a disagreement that moves a little is
    /// the same reason, not a new event to log.
    public var kind: String {
        switch self {
        case .deviceUnavailable: "device"
        case .deviceFailing: "failing"
        case .pageInvalid: "invalid"
        case .busy: "busy"
        case .noTime: "no-time"
        case .clockStatus: "status"
        case .noErrorBound: "no-bound"
        case .boundAbovePromise: "bound"
        case .calibrating: "calibrating"
        case .periodDisagrees: "period"
        case .leapSecond: "leap"
        case .resetPending: "reset-pending"
        case .settling: "settling"
        case .tscUnstable: "tsc-unstable"
        }
    }

    /// Every `kind`, for metrics that list each reason (0 or 1).
    public static let kinds = [
        "device", "failing", "invalid", "busy", "no-time", "status", "no-bound", "bound", "calibrating", "period", "leap",
        "reset-pending", "settling", "tsc-unstable",
    ]

    private static func ppm(_ value: Double) -> String {
        String(Double(Int((value * 10).rounded())) / 10)
    }
}

/// What changed underneath the daemon, in the operator's words.
public enum DisruptionKind: String, Sendable, Equatable, CaseIterable {
    case migration = "disruption_marker changed (live migration or similar)"
    case snapshotRestore = "vm_generation_counter changed (snapshot restore)"
    case counterChanged = "counter_id changed"
    case pageReinitialised = "page re-initialised (size or version changed)"
    case deviceGone = "device gone or page invalid"
    /// No identity from an earlier run and chronyd synchronised: reset once.
    case unverifiedStart = "no page identity from an earlier run while chronyd is synchronised"
}

/// The fields whose change means "everything learned about the counter is void".
public struct PageIdentity: Sendable, Equatable {
    public var disruptionMarker: UInt64
    public var vmGenerationCounter: UInt64?
    public var counterID: UInt8
    public var size: UInt32
    public var version: UInt16

    public init(disruptionMarker: UInt64, vmGenerationCounter: UInt64?, counterID: UInt8, size: UInt32, version: UInt16) {
        self.disruptionMarker = disruptionMarker
        self.vmGenerationCounter = vmGenerationCounter
        self.counterID = counterID
        self.size = size
        self.version = version
    }

    public init(_ page: VMClockPage) {
        disruptionMarker = page.disruptionMarker
        vmGenerationCounter = page.flaggedGenerationCounter
        counterID = page.counterID
        size = page.size
        version = page.version
    }

    /// Why `self` (new) differs from `old`, most specific first; nil if it does not.
    func disruption(since old: PageIdentity) -> DisruptionKind? {
        if counterID != old.counterID { return .counterChanged }
        if size != old.size || version != old.version { return .pageReinitialised }
        if vmGenerationCounter != old.vmGenerationCounter { return .snapshotRestore }
        if disruptionMarker != old.disruptionMarker { return .migration }
        return nil
    }
}

#if canImport(Glibc)
import Glibc
#endif
import VMClockPage

/// Everything `vmclockd run` is told, with the defaults an operator gets.
/// `vmclockd chrony-config` prints chronyd's side from the same values, so the
/// two cannot disagree.
public struct DaemonConfiguration: Sendable, Equatable {
    public var devicePath = "/dev/vmclock0"
    /// The socket chronyd creates for `refclock SOCK`.
    public var refclockSocketPath = "/run/chrony/vmclock.sock"
    /// chronyd's command socket (Debian's default).
    public var controlSocketPath = "/run/chrony/chronyd.sock"
    /// Where vmclockd binds the socket chronyd replies to; nil: next to the
    /// command socket, as chronyc does.
    public var controlReplySocketPath: String?
    /// Seconds between samples sent to chronyd (1/16 … 16 s).
    public var sampleInterval = 1.0
    /// Seconds between looks at the page, far more often than samples, so a
    /// disruption is seen within this time.
    public var watchInterval = 0.010
    /// The promise: no sample leaves with a larger error bound (seconds).
    /// chronyd's `precision` for the refclock is set to exactly this.
    public var maxError = 0.001
    /// Use the page's estimated error where it gives no maximum.
    public var allowEstimatedError = false
    /// After a disruption, the page must stay good and unchanged this long.
    public var settleTime = 2.0
    /// Largest disagreement between the page's period and the counter rate
    /// measured against CLOCK_MONOTONIC_RAW, in ppm.
    public var periodTolerancePPM = 500.0
    /// Ask chronyd to step when its remaining correction after a disruption
    /// exceeds this many seconds; nil: never step.
    public var stepThreshold: Double? = 0.5
    public var taiPolicy = TAIOffsetPolicy.automatic
    public static let refid = "VMCK"

    public init() {}

    public static let sampleIntervalRange = 0.0625...16.0

    /// chronyd's refclock `poll`: its median filter needs at least 4 samples
    /// to produce one, so each poll interval (2^poll s) should hold 4 of ours.
    public var chronyPoll: Int {
        let samplesPerPoll = 4.0
        return Int(log2(samplesPerPoll * sampleInterval).rounded(.up))
    }

    /// The `refclock` line for chrony.conf (or /etc/chrony/conf.d/vmclockd.conf).
    public var chronyRefclockLine: String {
        "refclock SOCK \(refclockSocketPath) refid \(Self.refid) poll \(chronyPoll) precision \(maxError)"
    }
}


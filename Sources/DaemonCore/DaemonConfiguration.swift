import ClockBoundProtocol
import VMClockPage

/// Everything `vmclockd run` is told, with the defaults an operator gets.
/// `vmclockd chrony-config` prints chronyd's side from the same values, so the
/// two cannot disagree.
public struct DaemonConfiguration: Sendable, Equatable {
    public var devicePath = PageLayout.devicePath
    /// The socket chronyd creates for `refclock SOCK`.
    public var refclockSocketPath = "/run/chrony/vmclock.sock"
    /// chronyd's command socket (Debian's default).
    public var controlSocketPath = "/run/chrony/chronyd.sock"
    /// Where vmclockd binds the socket chronyd replies to; nil: next to the
    /// command socket, as chronyc does.
    public var controlReplySocketPath: String?
    /// Seconds between samples sent to chronyd (1/16 … 16 s). Chosen by
    /// measurement (BENCHMARKS.md): 16 samples a second let chronyd follow
    /// VMCK again within about a second of a reset.
    public var sampleInterval = 0.0625
    /// Seconds between looks at the page; a disruption is seen within this
    /// time (sooner where the device notifies). By default one look per sample.
    public var watchInterval = 0.0625
    /// The promise: no sample leaves with a larger error bound (seconds).
    /// chronyd's `precision` for the refclock is set to exactly this.
    public var maxError = 0.001
    /// Use the page's estimated error where it gives no maximum.
    public var allowEstimatedError = false
    /// After a disruption, the page must stay good and unchanged this long
    /// before samples resume. Off by default: a page that is synchronised
    /// and within its bound is what the host vouches for, and the rate
    /// cross-check catches a page whose period is wrong.
    public var settleTime = 0.0
    /// Largest disagreement between the page's period and the counter rate
    /// measured against CLOCK_MONOTONIC_RAW, in ppm.
    public var periodTolerancePPM = 500.0
    /// Ask chronyd to step when its remaining correction after a disruption
    /// exceeds this many seconds; nil: never step.
    public var stepThreshold: Double? = 0.5
    public var taiPolicy = TAIOffsetPolicy.automatic
    /// Where the page identity chronyd's history belongs to is kept across
    /// restarts of the daemon (nil: nowhere).
    public var stateFilePath: String? = "/run/vmclockd/page-identity"
    /// Where the daemon publishes its state for `vmclockd status` and
    /// `vmclockd wait` (JSON, replaced atomically; nil: not published).
    public var statusFilePath: String? = "/run/vmclockd/status.json"
    /// Prometheus text exposition for node_exporter's textfile collector
    /// (replaced atomically; nil: not written).
    public var metricsFilePath: String? = "/run/vmclockd/vmclockd.prom"
    /// ClockBound's shared-memory segment, where applications' ClockBound
    /// clients read a bound on the clock's error (nil: not written).
    public var clockBoundSegmentPath: String? = SegmentLayout.defaultPath
    /// Seconds between rewrites of both files when nothing a reader acts on
    /// has changed (changes are published at once). Node_exporter is scraped
    /// every 15 s or more; a rewrite a second cost over a third of the idle
    /// daemon's CPU (BENCHMARKS.md).
    public var publishInterval: Double = 10
    /// Wait for update notifications on this file instead of the device (a
    /// test seam: a real character device's poll() behind a page in a file).
    public var notificationDevicePath: String?
    /// The kernel's list of usable clocksources, read to learn whether it
    /// marked the TSC unstable (x86 only; see KernelTSCWatch). A test seam:
    /// a test points it at a file it rewrites; nil: not checked.
    public var clocksourceListPath: String? = "/sys/devices/system/clocksource/clocksource0/available_clocksource"
    public static let refid = "VMCK"

    public init() {}

    public static let sampleIntervalRange = 0.0625...16.0

    /// chronyd's refclock `poll`: one of our samples per poll interval
    /// (2^poll s ≥ the interval). Measured against chronyd 4.3 at 16 Hz
    /// (BENCHMARKS.md): with its default filter chronyd follows VMCK again
    /// 0.76 s after a reset whatever the poll (it needs 3 filtered samples of
    /// 4 raw ones each), but its reach register, which is all that makes a
    /// chronyd older than 4.4 let go of VMCK in a hold, empties in 8 polls:
    /// 0.5 s at poll -4 against 2 s at poll -2.
    public var chronyPoll: Int {
        // ⌈log2⌉ without the C library: 2^e·s (1 ≤ s < 2) needs e, or e + 1 past a power of two.
        Int(sampleInterval.exponent) + (sampleInterval.significand > 1 ? 1 : 0)
    }

    /// How long chronyd 4.0–4.3 (no selectopts) goes on using VMCK after
    /// samples stop: until its reach register empties, 8 polls.
    public var oldChronydHoldSeconds: String {
        let seconds = 8 * Double(sign: .plus, exponent: chronyPoll, significand: 1)
        return seconds == seconds.rounded() ? "\(Int(seconds))" : "\(seconds)"
    }

    /// The `refclock` line for chrony.conf (or /etc/chrony/conf.d/vmclockd.conf).
    public var chronyRefclockLine: String {
        "refclock SOCK \(refclockSocketPath) refid \(Self.refid) poll \(chronyPoll) precision \(maxError)"
    }
}

import Logging
import DaemonCore
import VMClockPage

/// Options shared by `run` and `chrony-config`, so the refclock line chronyd
/// gets and the limits the daemon enforces come from one place; and the keys
/// of `/etc/vmclockd.conf`, which go through this same table.
struct DaemonOptions {
    var configuration = DaemonConfiguration()
    var logLevel = Logger.Level.info
    private var stepThreshold = DaemonConfiguration().stepThreshold ?? 0.5
    private var noStep = false

    /// The configuration these options describe.
    var resolved: DaemonConfiguration {
        var c = configuration
        c.stepThreshold = noStep ? nil : stepThreshold
        return c
    }

    static var options: [Option<DaemonOptions>] {
        let defaults = DaemonConfiguration()
        typealias O = Option<DaemonOptions>
        /// A number option that sets `path` (also the step threshold, kept apart
        /// for --no-step), refusing values outside `range` where it is read.
        func number(_ name: String, _ range: NumberRange, _ help: String, _ path: WritableKeyPath<DaemonOptions, Double>) -> O {
            O(name, value: range.unit, help: "\(help) Range: \(range.summary).",
              default: OptionValue.text(DaemonOptions()[keyPath: path])) { (options: inout DaemonOptions, text: String) throws(UsageError) in
                options[keyPath: path] = try range.parse(text)
            }
        }
        func path(_ name: String, _ help: String, default value: String?, _ set: @escaping (inout DaemonOptions, String) -> Void) -> O {
            O(name, value: "path", help: help, default: value) { (options: inout DaemonOptions, text: String) throws(UsageError) in
                set(&options, try OptionValue.path(text))
            }
        }
        /// A file the daemon writes, or `none`: not written.
        func file(_ name: String, _ help: String, default value: String?, _ set: @escaping (inout DaemonOptions, String?) -> Void) -> O {
            path(name, help, default: value ?? "none") { set(&$0, $1 == "none" ? nil : $1) }
        }
        let seconds = "seconds"
        return [
            path("device", "The vmclock device.", default: defaults.devicePath) { $0.configuration.devicePath = $1 },
            path("refclock-socket", "The socket chronyd creates for 'refclock SOCK'.",
                 default: defaults.refclockSocketPath) { $0.configuration.refclockSocketPath = $1 },
            path("control-socket", "chronyd's command socket (bindcmdaddress).",
                 default: defaults.controlSocketPath) { $0.configuration.controlSocketPath = $1 },
            path("control-reply-socket", "Where to bind the socket chronyd replies to (default: next to its command socket).",
                 default: nil) { $0.configuration.controlReplySocketPath = $1 },
            number("interval", .from(DaemonConfiguration.sampleIntervalRange.lowerBound, to: DaemonConfiguration.sampleIntervalRange.upperBound, seconds),
                   "Seconds between samples sent to chronyd.", \.configuration.sampleInterval),
            number("watch-interval", .from(0.001, to: DaemonConfiguration.sampleIntervalRange.upperBound, seconds),
                   "Seconds between looks at the page (disruptions are seen within this); at most --interval.",
                   \.configuration.watchInterval),
            number("max-error", .above(0, to: 1, seconds),
                   "The promised maximum error, seconds: samples with a larger bound are withheld; chronyd's 'precision'.",
                   \.configuration.maxError),
            O(flag: "allow-estimated-error", help: "Use the page's estimated error where it gives no maximum error.") {
                $0.configuration.allowEstimatedError = true
            },
            number("settle-time", .from(0, to: 3600, seconds),
                   "Seconds the page must stay good and unchanged after a disruption before samples resume (0: none).",
                   \.configuration.settleTime),
            file("state-file", "Where to keep the page identity across restarts within a boot ('none': nowhere).",
                 default: defaults.stateFilePath) { $0.configuration.stateFilePath = $1 },
            file("status-file", "Where to publish the daemon's state for 'vmclockd status' and 'vmclockd wait' ('none': nowhere).",
                 default: defaults.statusFilePath) { $0.configuration.statusFilePath = $1 },
            file("metrics-file", "Where to write Prometheus metrics for node_exporter's textfile collector ('none': nowhere).",
                 default: defaults.metricsFilePath) { $0.configuration.metricsFilePath = $1 },
            file("clockbound-segment", "Where to write ClockBound's shared-memory segment, read by applications' ClockBound clients ('none': nowhere).",
                 default: defaults.clockBoundSegmentPath) { $0.configuration.clockBoundSegmentPath = $1 },
            number("publish-interval", .from(1, to: 3600, seconds),
                   "Seconds between rewrites of the status and metrics files while nothing but counts and the last sample change (a change of state, a disruption, a reset's acknowledgement or chronyd taking or dropping VMCK is published at once); at least --interval.",
                   \.configuration.publishInterval),
            number("period-tolerance-ppm", .above(0, to: 100_000, "ppm"),
                   "Largest disagreement, ppm, between the page's period and the counter rate measured against CLOCK_MONOTONIC_RAW.",
                   \.configuration.periodTolerancePPM),
            number("step-threshold", .above(0, to: 86_400, seconds),
                   "After a disruption, ask chronyd to step when its remaining correction exceeds this many seconds.",
                   \.stepThreshold),
            O(flag: "no-step", help: "Never ask chronyd to step the clock.") { $0.noStep = true },
            .taiOffsetSign(\.configuration.taiPolicy),
            O("log-level", value: "level", help: "What `run` logs: trace, debug, info, notice, warning, error or critical.",
              default: Logger.Level.info.rawValue) { (o: inout DaemonOptions, v: String) throws(UsageError) in
                o.logLevel = try OptionValue.choice(v, Logger.Level.allCases.map { ($0.rawValue, $0) })
            },
            {
                var seam = O("notification-device", value: "path",
                             help: "Tests only: wait for update notifications on this file instead of the device.") {
                    $0.configuration.notificationDevicePath = $1
                }
                seam.hidden = true
                return seam
            }(),
            {
                var seam = O("clocksource-file", value: "path",
                             help: "Tests only: read the kernel's available clocksources (is the TSC trusted?) from this file.") {
                    $0.configuration.clocksourceListPath = $1
                }
                seam.hidden = true
                return seam
            }(),
        ]
    }

    /// What no single value's range can say: looks at least once per sample.
    func validate(_ settings: Settings) throws(UsageError) {
        let c = configuration
        guard c.watchInterval <= c.sampleInterval else {
            throw UsageError(
                "watch-interval = \(OptionValue.text(c.watchInterval)) (\(settings.origin("watch-interval"))) must be at most "
                    + "interval = \(OptionValue.text(c.sampleInterval)) (\(settings.origin("interval"))): the page is looked at at least once per sample")
        }
    }
}

extension Option {
    /// `--tai-offset-sign`, which `run` and `status` both take.
    static func taiOffsetSign(_ path: WritableKeyPath<Options, TAIOffsetPolicy>) -> Option {
        Option("tai-offset-sign", value: "sign", help: "How to read the sign of tai_offset_sec: auto, utc-minus-tai, tai-minus-utc.",
               default: TAIOffsetPolicy.automatic.rawValue) { (options: inout Options, value: String) throws(UsageError) in
            options[keyPath: path] = try OptionValue.choice(value, TAIOffsetPolicy.allCases.map { ($0.rawValue, $0) })
        }
    }
}

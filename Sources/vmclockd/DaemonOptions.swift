import VMClockDaemon
import VMClockPage

/// Options shared by `run` and `chrony-config`, so the refclock line chronyd
/// gets and the limits the daemon enforces come from one place.
struct DaemonOptions {
    var configuration = DaemonConfiguration()
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
        /// A number option that sets `path` within `range` (also the step
        /// threshold, kept apart for --no-step).
        func number(_ name: String, _ value: String, _ help: String, _ path: WritableKeyPath<DaemonOptions, Double>,
                    _ range: NumberRange) -> O {
            O(name, value: value, help: help, default: NumberRange.format(DaemonOptions()[keyPath: path])) {
                (options: inout DaemonOptions, text: String) throws(UsageError) in
                options[keyPath: path] = try OptionValue.double(text, in: range)
            }
        }
        func seconds(_ lower: Double, _ includesLower: Bool, _ upper: Double) -> NumberRange {
            NumberRange(lower: lower, includesLower: includesLower, upper: upper, unit: "seconds")
        }
        return [
            O("device", value: "path", help: "The vmclock device.", default: defaults.devicePath) { $0.configuration.devicePath = $1 },
            O("refclock-socket", value: "path", help: "The socket chronyd creates for 'refclock SOCK'.",
              default: defaults.refclockSocketPath) { $0.configuration.refclockSocketPath = $1 },
            O("control-socket", value: "path", help: "chronyd's command socket (bindcmdaddress).",
              default: defaults.controlSocketPath) { $0.configuration.controlSocketPath = $1 },
            O("control-reply-socket", value: "path",
              help: "Where to bind the socket chronyd replies to (default: next to its command socket).") {
                $0.configuration.controlReplySocketPath = $1
            },
            number("interval", "seconds", "Seconds between samples sent to chronyd (1/16 to 16).", \.configuration.sampleInterval,
                   seconds(DaemonConfiguration.sampleIntervalRange.lowerBound, true, DaemonConfiguration.sampleIntervalRange.upperBound)),
            number("watch-interval", "seconds",
                   "Seconds between looks at the page (disruptions are seen within this); at most --interval.",
                   \.configuration.watchInterval, seconds(0.001, true, DaemonConfiguration.sampleIntervalRange.upperBound)),
            number("max-error", "seconds",
                   "The promised maximum error, seconds: samples with a larger bound are withheld; chronyd's 'precision'.",
                   \.configuration.maxError, seconds(0, false, 1)),
            O(flag: "allow-estimated-error", help: "Use the page's estimated error where it gives no maximum error.") {
                $0.configuration.allowEstimatedError = true
            },
            number("settle-time", "seconds",
                   "Seconds the page must stay good and unchanged after a disruption before samples resume (0: none).",
                   \.configuration.settleTime, seconds(0, true, 3600)),
            O("state-file", value: "path",
              help: "Where to keep the page identity across restarts within a boot ('none': nowhere).",
              default: defaults.stateFilePath ?? "none") { $0.configuration.stateFilePath = $1 == "none" ? nil : $1 },
            O("status-file", value: "path",
              help: "Where to publish the daemon's state for 'vmclockd status' and 'vmclockd wait' ('none': nowhere).",
              default: defaults.statusFilePath ?? "none") { $0.configuration.statusFilePath = $1 == "none" ? nil : $1 },
            O("metrics-file", value: "path",
              help: "Where to write Prometheus metrics for node_exporter's textfile collector ('none': nowhere).",
              default: defaults.metricsFilePath ?? "none") { $0.configuration.metricsFilePath = $1 == "none" ? nil : $1 },
            number("period-tolerance-ppm", "ppm",
                   "Largest disagreement, ppm, between the page's period and the counter rate measured against CLOCK_MONOTONIC_RAW.",
                   \.configuration.periodTolerancePPM, NumberRange(lower: 0, includesLower: false, upper: 100_000, unit: "ppm")),
            number("step-threshold", "seconds",
                   "After a disruption, ask chronyd to step when its remaining correction exceeds this many seconds.",
                   \.stepThreshold, seconds(0, false, 86_400)),
            O(flag: "no-step", help: "Never ask chronyd to step the clock.") { $0.noStep = true },
            O("tai-offset-sign", value: "sign", help: "How to read the sign of tai_offset_sec: auto, utc-minus-tai, tai-minus-utc.",
              default: TAIOffsetPolicy.automatic.rawValue) { (o: inout DaemonOptions, v: String) throws(UsageError) in
                o.configuration.taiPolicy = try OptionValue.choice(v, TAIOffsetPolicy.allCases.map { ($0.rawValue, $0) })
            },
            {
                var seam = O("notification-device", value: "path",
                             help: "Tests only: wait for update notifications on this file instead of the device.") {
                    $0.configuration.notificationDevicePath = $1
                }
                seam.hidden = true
                return seam
            }(),
        ]
    }

    /// What no single option can check: each range is checked as it is read.
    func validate() throws(UsageError) {
        let c = configuration
        guard c.watchInterval <= c.sampleInterval else {
            throw UsageError("watch-interval \(NumberRange.format(c.watchInterval)) must be at most interval \(NumberRange.format(c.sampleInterval)) (seconds): a look per sample at least")
        }
    }
}

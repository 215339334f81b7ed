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
        /// A number option that sets `path` (also the step threshold, kept apart for --no-step).
        func number(_ name: String, _ value: String, _ help: String, _ path: WritableKeyPath<DaemonOptions, Double>) -> O {
            O(name, value: value, help: help, default: "\(DaemonOptions()[keyPath: path])") {
                (options: inout DaemonOptions, text: String) throws(UsageError) in
                options[keyPath: path] = try OptionValue.double(text, name)
            }
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
            number("interval", "seconds", "Seconds between samples sent to chronyd (1/16 to 16).", \.configuration.sampleInterval),
            number("watch-interval", "seconds",
                   "Seconds between looks at the page (disruptions are seen within this); at most --interval.",
                   \.configuration.watchInterval),
            number("max-error", "seconds",
                   "The promised maximum error, seconds: samples with a larger bound are withheld; chronyd's 'precision'.",
                   \.configuration.maxError),
            O(flag: "allow-estimated-error", help: "Use the page's estimated error where it gives no maximum error.") {
                $0.configuration.allowEstimatedError = true
            },
            number("settle-time", "seconds",
                   "Seconds the page must stay good and unchanged after a disruption before samples resume (0: none).",
                   \.configuration.settleTime),
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
                   \.configuration.periodTolerancePPM),
            number("step-threshold", "seconds",
                   "After a disruption, ask chronyd to step when its remaining correction exceeds this many seconds.",
                   \.stepThreshold),
            O(flag: "no-step", help: "Never ask chronyd to step the clock.") { $0.noStep = true },
            O("tai-offset-sign", value: "sign", help: "How to read the sign of tai_offset_sec: auto, utc-minus-tai, tai-minus-utc.",
              default: TAIOffsetPolicy.automatic.rawValue) { (o: inout DaemonOptions, v: String) throws(UsageError) in
                o.configuration.taiPolicy = try OptionValue.choice(v, "tai-offset-sign", TAIOffsetPolicy.allCases.map { ($0.rawValue, $0) })
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

    func validate() throws(UsageError) {
        let c = configuration
        guard DaemonConfiguration.sampleIntervalRange.contains(c.sampleInterval) else {
            throw UsageError("--interval must be between 1/16 and 16 seconds")
        }
        guard c.watchInterval >= 0.001, c.watchInterval <= c.sampleInterval else {
            throw UsageError("--watch-interval must be between 0.001 s and --interval")
        }
        guard c.maxError > 0, c.maxError <= 1 else { throw UsageError("--max-error must be in (0, 1] seconds") }
        guard c.settleTime >= 0, c.periodTolerancePPM > 0, stepThreshold > 0 else {
            throw UsageError("--settle-time must be ≥ 0; --period-tolerance-ppm and --step-threshold > 0")
        }
    }
}

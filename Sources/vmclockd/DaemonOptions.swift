import ArgumentParser
import VMClockDaemon
import VMClockPage

/// Options shared by `run` and `chrony-config`, so the refclock line chronyd
/// gets and the limits the daemon enforces come from one place.
struct DaemonOptions: ParsableArguments {
    @Option(help: "The vmclock device.")
    var device = DaemonConfiguration().devicePath

    @Option(help: "The socket chronyd creates for 'refclock SOCK'.")
    var refclockSocket = DaemonConfiguration().refclockSocketPath

    @Option(help: "chronyd's command socket (bindcmdaddress).")
    var controlSocket = DaemonConfiguration().controlSocketPath

    @Option(help: "Where to bind the socket chronyd replies to (default: next to its command socket).")
    var controlReplySocket: String?

    @Option(help: "Seconds between samples sent to chronyd (1/16 to 16).")
    var interval = DaemonConfiguration().sampleInterval

    @Option(help: "Seconds between looks at the page (disruptions are seen within this).")
    var watchInterval = DaemonConfiguration().watchInterval

    @Option(help: "The promised maximum error, seconds: samples with a larger bound are withheld; chronyd's 'precision'.")
    var maxError = DaemonConfiguration().maxError

    @Flag(help: "Use the page's estimated error where it gives no maximum error.")
    var allowEstimatedError = false

    @Option(help: "Seconds the page must stay good and unchanged after a disruption before samples resume (0: none).")
    var settleTime = DaemonConfiguration().settleTime

    @Option(help: "Where to keep the page identity across restarts within a boot ('none': nowhere).")
    var stateFile = DaemonConfiguration().stateFilePath ?? "none"

    @Option(help: "Largest disagreement, ppm, between the page's period and the counter rate measured against CLOCK_MONOTONIC_RAW.")
    var periodTolerancePpm = DaemonConfiguration().periodTolerancePPM

    @Option(help: "After a disruption, ask chronyd to step when its remaining correction exceeds this many seconds.")
    var stepThreshold = DaemonConfiguration().stepThreshold ?? 0.5

    @Flag(help: "Never ask chronyd to step the clock.")
    var noStep = false

    @Option(help: "How to read the sign of tai_offset_sec: auto, utc-minus-tai, tai-minus-utc.")
    var taiOffsetSign: TAIOffsetPolicy = .automatic

    func validate() throws {
        guard DaemonConfiguration.sampleIntervalRange.contains(interval) else {
            throw ValidationError("--interval must be between 1/16 and 16 seconds")
        }
        guard watchInterval >= 0.001, watchInterval <= interval else {
            throw ValidationError("--watch-interval must be between 0.001 s and --interval")
        }
        guard maxError > 0, maxError <= 1 else { throw ValidationError("--max-error must be in (0, 1] seconds") }
        guard settleTime >= 0, periodTolerancePpm > 0, stepThreshold > 0 else {
            throw ValidationError("--settle-time must be ≥ 0; --period-tolerance-ppm and --step-threshold > 0")
        }
    }

    var configuration: DaemonConfiguration {
        var c = DaemonConfiguration()
        c.devicePath = device
        c.refclockSocketPath = refclockSocket
        c.controlSocketPath = controlSocket
        c.controlReplySocketPath = controlReplySocket
        c.sampleInterval = interval
        c.watchInterval = watchInterval
        c.maxError = maxError
        c.allowEstimatedError = allowEstimatedError
        c.settleTime = settleTime
        c.periodTolerancePPM = periodTolerancePpm
        c.stepThreshold = noStep ? nil : stepThreshold
        c.taiPolicy = taiOffsetSign
        c.stateFilePath = stateFile == "none" ? nil : stateFile
        return c
    }
}

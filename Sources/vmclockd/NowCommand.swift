import ClockBoundProtocol
import VMClockAccess
import VMClockSystem

/// `vmclockd now`: what an application's ClockBound client reads from the
/// segment vmclockd publishes, right now.
struct NowCommand: Command {
    static let name = "now"
    static let readsConfigFile = true
    static let abstract = "Read the ClockBound segment as an application's client does: the earliest and latest true time now, the bound, and the status."
    static let discussion = """
        Reads the segment under its generation seqlock, then CLOCK_REALTIME and CLOCK_MONOTONIC_COARSE, and, \
        where the segment asks clients to (disruption support 1), the device's disruption_marker: a marker \
        other than the segment's means the VM moved since the bound was computed, and the status is unknown. \
        The bound grows from the segment's as_of at its max drift; synchronized data older than 5 s is \
        free-running until void_after, then unknown. The config file's clockbound-segment key sets the \
        segment's path. exit status: 0 synchronized; 3 free-running (a bound, but aging: the writer stopped \
        refreshing it); 1 unknown or disrupted, or the device's marker cannot be read (no bound); 2 the \
        segment cannot be read (missing, not initialised, another version, malformed); 64 bad arguments.
        """

    var segment = SegmentLayout.defaultPath
    var device = VMClockDevice.defaultPath
    var json = false

    static var options: [Option<NowCommand>] { [
        configOption,
        Option("segment", value: "path", help: "The ClockBound segment to read.", default: SegmentLayout.defaultPath) {
            (command: inout NowCommand, value: String) throws(UsageError) in command.segment = try OptionValue.path(value)
        },
        .configSegment { $0.segment = $1 },
        Option("device", value: "path", help: "The vmclock device whose marker the segment's is compared with.",
               default: VMClockDevice.defaultPath) { $0.device = $1 },
        Option(flag: "json", help: "Print JSON (64-bit values as decimal strings, as status --json).") { $0.json = true },
    ] }

    func validate() throws(UsageError) {
        if segment == "none" { throw UsageError("--segment none: there is no segment to read") }
    }

    func run() -> Int32 {
        let report = NowReport(SegmentClient(segmentPath: segment, devicePath: device).read(), segment: segment, device: device)
        print(json ? report.json.text : report.plainText)
        return report.exitStatus
    }
}

extension Option {
    /// The config file's `clockbound-segment` key, for the commands that
    /// read the segment the daemon writes (`now`, `wait`); on the command
    /// line they spell it `--segment`.
    static func configSegment(_ set: @escaping (inout Options, String) -> Void) -> Option<Options> {
        var option = Option("clockbound-segment", value: "path", help: "As --segment (the config file's key).") {
            (options: inout Options, value: String) throws(UsageError) in set(&options, try OptionValue.path(value))
        }
        option.hidden = true
        return option
    }
}

import VMClockAccess
import DaemonCore
import VMClockPage

struct StatusCommand: Command {
    static let name = "status"
    static let readsConfigFile = true
    static let abstract = "Show what the vmclock page says, the UTC it gives now, how far the system clock is from it, and what the running daemon is doing."
    static let discussion = StatusExit.help

    var device = VMClockDevice.defaultPath
    var json = false
    var atCounter: UInt64?
    var taiPolicy = TAIOffsetPolicy.automatic
    var statusFile: String? = DaemonConfiguration().statusFilePath

    static var options: [Option<StatusCommand>] { [
        configOption,
        Option("device", value: "path", help: "The vmclock device, or any file holding a page.",
               default: VMClockDevice.defaultPath) { $0.device = $1 },
        Option("status-file", value: "path", help: "Where the running daemon publishes its state ('none': show the page only).",
               default: DaemonConfiguration().statusFilePath ?? "none") { $0.statusFile = $1 == "none" ? nil : $1 },
        Option(flag: "json", help: "Print JSON (schema: see README, 'status --json').") { $0.json = true },
        Option("at-counter", value: "counter", help: "Evaluate at this counter reading instead of now (no system clock comparison).") {
            (command: inout StatusCommand, value: String) throws(UsageError) in
            command.atCounter = try OptionValue.unsigned(value)
        },
        .taiOffsetSign(\.taiPolicy),
    ] }

    func run() -> Int32 {
        var report = StatusProbe(path: device, atCounter: atCounter, taiPolicy: taiPolicy).report()
        report.daemon = statusFile.map(DaemonStatus.init(path:))
        print(json ? report.jsonText() : report.plainText())
        return report.exitStatus.rawValue
    }
}

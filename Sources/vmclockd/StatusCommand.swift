import ArgumentParser
import VMClockAccess
import VMClockPage

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what the vmclock page says, the UTC it gives now, and how far the system clock is from it.",
        discussion: StatusExit.help)

    @Option(help: "The vmclock device, or any file holding a page.")
    var device = VMClockDevice.defaultPath

    @Flag(help: "Print JSON (schema: see README, 'status --json').")
    var json = false

    @Option(help: "Evaluate at this counter reading instead of now (no system clock comparison).")
    var atCounter: UInt64?

    @Option(help: "How to read the sign of tai_offset_sec: auto, utc-minus-tai, tai-minus-utc.")
    var taiOffsetSign: TAIOffsetPolicy = .automatic

    func run() throws {
        let report = StatusProbe(path: device, atCounter: atCounter, taiPolicy: taiOffsetSign).report()
        print(json ? report.jsonText() : report.plainText())
        let exit = report.exitStatus
        if exit != .ok { throw exit.exitCode }
    }
}

extension TAIOffsetPolicy: ExpressibleByArgument {}

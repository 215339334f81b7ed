import ArgumentParser

@main
struct VMClockd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmclockd",
        abstract: "Make the hypervisor's vmclock page a trustworthy reference clock for chronyd.",
        subcommands: [RunCommand.self, StatusCommand.self, ChronyConfigCommand.self])
}

#if canImport(Glibc)
import Glibc
#endif

/// `vmclockd <subcommand> [<options>]`.
let commands: [(summary: CommandSummary, main: (ArraySlice<String>) -> Int32)] = [
    (RunCommand.summary, RunCommand.main),
    (StatusCommand.summary, StatusCommand.main),
    (ChronyConfigCommand.summary, ChronyConfigCommand.main),
    (WaitCommand.summary, WaitCommand.main),
    (NowCommand.summary, NowCommand.main),
    (ConfigTemplateCommand.summary, ConfigTemplateCommand.main),
]

let overview = """
    OVERVIEW: Make the hypervisor's vmclock page a trustworthy reference clock for chronyd.

    USAGE: vmclockd <subcommand>

    SUBCOMMANDS:
    \(commands.map { CommandLineText.column($0.summary.name, $0.summary.abstract) }.joined(separator: "\n"))

      See 'vmclockd <subcommand> --help' for detailed help.
    """

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case nil, "-h", "--help", "help":
    print(overview)
    exit(arguments.isEmpty ? 64 : 0)
case "--generate-completion-script":
    guard arguments.count == 2, let script = Completions.script(arguments.last!, commands.map(\.summary)) else {
        CommandLineText.printError("Error: --generate-completion-script takes bash, zsh or fish")
        exit(64)
    }
    print(script, terminator: "")
    exit(0)
case let name?:
    guard let command = commands.first(where: { $0.summary.name == name }) else {
        CommandLineText.printError("Error: unknown subcommand '\(name)'\n\n\(overview)")
        exit(64)
    }
    exit(command.main(arguments.dropFirst()))
}

#if canImport(Glibc)
import Glibc
#endif

/// `vmclockd <subcommand> [<options>]`.
let commands: [(name: String, abstract: String, main: (ArraySlice<String>) -> Int32)] = [
    (RunCommand.name, RunCommand.abstract, RunCommand.main),
    (StatusCommand.name, StatusCommand.abstract, StatusCommand.main),
    (ChronyConfigCommand.name, ChronyConfigCommand.abstract, ChronyConfigCommand.main),
]

let overview = """
    OVERVIEW: Make the hypervisor's vmclock page a trustworthy reference clock for chronyd.

    USAGE: vmclockd <subcommand>

    SUBCOMMANDS:
    \(commands.map { CommandLineText.column($0.name, $0.abstract) }.joined(separator: "\n"))

      See 'vmclockd <subcommand> --help' for detailed help.
    """

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case nil, "-h", "--help", "help":
    print(overview)
    exit(arguments.isEmpty ? 64 : 0)
case let name?:
    guard let command = commands.first(where: { $0.name == name }) else {
        CommandLineText.printError("Error: unknown subcommand '\(name)'\n\n\(overview)")
        exit(64)
    }
    exit(command.main(arguments.dropFirst()))
}

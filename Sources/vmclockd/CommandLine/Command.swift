#if canImport(Glibc)
import Glibc
#endif

/// A subcommand: its options with their defaults, its help, and what it does.
protocol Command {
    static var name: String { get }
    static var abstract: String { get }
    static var discussion: String { get }
    static var options: [Option<Self>] { get }
    /// Reads `/etc/vmclockd.conf` before the command line: each key it has
    /// an option of the same name for (`status` takes `device` and
    /// `status-file`, `run` every key). `configOption` among `options` lets
    /// `--config` choose another file or none.
    static var readsConfigFile: Bool { get }
    init()
    /// Checks the options together, after parsing.
    func validate() throws(UsageError)
    /// The same, knowing where each value came from (messages that name two
    /// keys; a generated file that says what it was made from).
    mutating func validate(_ settings: Settings) throws(UsageError)
    /// Does the work; the process's exit status.
    func run() -> Int32
}

extension Command {
    static var discussion: String { "" }
    static var readsConfigFile: Bool { false }
    /// `--config <path>`, for the options of a command that reads the file.
    static var configOption: Option<Self> { ConfigFile.configOption() }
    func validate() throws(UsageError) {}
    func validate(_ settings: Settings) throws(UsageError) { try validate() }

    /// Parses `arguments` (after the subcommand's name) and runs: help on
    /// -h/--help, a usage error on anything else it does not know (64).
    /// Precedence: the defaults, then the config file, then the command line.
    static func main(_ arguments: ArraySlice<String>) -> Int32 {
        var command = Self()
        var settings = Settings()
        var printConfig = false
        do throws(UsageError) {
            if arguments.contains(where: { $0 == "-h" || $0 == "--help" }) {
                print(help)
                return 0
            }
            let given = try parse(arguments)
            if readsConfigFile {
                let chosen = given.last { $0.option.name == ConfigFile.configOptionName }?.value
                if let file = try ConfigFile.load(path: chosen) {
                    try file.apply(options, to: &command, settings: &settings)
                    settings.configFile = file.path
                }
            }
            for (option, value) in given {
                do throws(UsageError) {
                    try option.apply(&command, value)
                } catch {
                    throw UsageError("--\(option.name)\(option.valueName == nil ? "" : " \(value)"): \(error)")
                }
                settings.record(option.name, value, from: "--\(option.name)")
            }
            try command.validate(settings)
            printConfig = given.contains { $0.option.name == ConfigFile.printOptionName }
        } catch {
            CommandLineText.printError("Error: \(error)\nUsage: vmclockd \(name) [<options>]\n  See 'vmclockd \(name) --help'.")
            return 64
        }
        if printConfig {
            print(ConfigFile.template(options.filter { ConfigFile.keys.contains($0.name) }, settings), terminator: "")
            return 0
        }
        return command.run()
    }

    /// The options given, in order, each with its value (`yes` for a flag).
    static func parse(_ arguments: ArraySlice<String>) throws(UsageError) -> [(option: Option<Self>, value: String)] {
        var given: [(option: Option<Self>, value: String)] = []
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            guard argument.hasPrefix("--") else { throw UsageError("unexpected argument '\(argument)'") }
            let spelled = argument.dropFirst(2)
            let (name, inline) = spelled.firstIndex(of: "=").map { (spelled[..<$0], String(spelled[spelled.index(after: $0)...])) } ?? (spelled, nil)
            guard let option = options.first(where: { $0.name == name }) else { throw UsageError("unknown option '--\(name)'") }
            if option.valueName == nil {
                guard inline == nil else { throw UsageError("--\(name) takes no value") }
                given.append((option, "yes"))
                continue
            }
            guard let value = inline ?? rest.popFirst() else { throw UsageError("--\(name) needs a value") }
            given.append((option, value))
        }
        return given
    }

    static var help: String {
        var text = "OVERVIEW: \(abstract)\n"
        if !discussion.isEmpty { text += "\n" + CommandLineText.wrap(discussion, indent: 0) + "\n" }
        text += "\nUSAGE: vmclockd \(name) [<options>]\n\nOPTIONS:\n"
        for option in options where !option.hidden {
            let spelled = "--\(option.name)" + (option.valueName.map { " <\($0)>" } ?? "")
            let help = option.help + (option.defaultText.map { " (default: \($0))" } ?? "")
            text += CommandLineText.column(spelled, help) + "\n"
        }
        text += CommandLineText.column("-h, --help", "Show help information.")
        return text
    }
}

enum CommandLineText {
    static let width = 80
    static let helpColumn = 26

    static func printError(_ text: String) {
        let line = text + "\n"
        _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    }

    /// "  --name <value>   help…", the help wrapped in its column.
    static func column(_ left: String, _ right: String) -> String {
        let lead = "  " + left
        let wrapped = wrap(right, indent: helpColumn)
        if lead.count + 2 <= helpColumn {
            return lead + String(repeating: " ", count: helpColumn - lead.count) + wrapped.dropFirst(helpColumn)
        }
        return lead + "\n" + wrapped
    }

    /// Words wrapped at `width`, every line indented by `indent`.
    static func wrap(_ text: String, indent: Int, width: Int = CommandLineText.width) -> String {
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = []
        var line = pad
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if line.count > indent, line.count + 1 + word.count > width {
                lines.append(line)
                line = pad
            }
            line += (line.count > indent ? " " : "") + word
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// A subcommand: its options with their defaults, its help, and what it does.
protocol Command {
    static var name: String { get }
    static var abstract: String { get }
    static var discussion: String { get }
    static var options: [Option<Self>] { get }
    /// Reads /etc/vmclockd.conf (or --config) before the command line.
    static var readsConfigFile: Bool { get }
    init()
    /// Checks the options together, after parsing.
    func validate() throws(UsageError)
    /// Does the work; the process's exit status.
    func run() -> Int32
}

extension Command {
    static var discussion: String { "" }
    func validate() throws(UsageError) {}
    static var readsConfigFile: Bool { false }

    /// `--config`, for the help of commands that read the file.
    static var configOption: Option<Self> {
        Option("config", value: "path", help: "The config file ('none': none); the command line overrides it.",
               default: ConfigFile.defaultPath) { _, _ in }
    }

    /// Parses `arguments` (after the subcommand's name) and runs: help on
    /// -h/--help, a usage error on anything else it does not know (64).
    static func main(_ arguments: ArraySlice<String>) -> Int32 {
        var command = Self()
        do throws(UsageError) {
            if arguments.contains(where: { $0 == "-h" || $0 == "--help" }) {
                print(help)
                return 0
            }
            var rest = Array(arguments)
            if readsConfigFile {
                let config = try ConfigFile.take(from: arguments)
                rest = config.rest
                if let path = config.path, let file = try ConfigFile.load(path, explicit: config.explicit) {
                    try file.apply(to: &command, options)
                }
            }
            try parse(rest[...], into: &command)
            try command.validate()
        } catch {
            CommandLineText.printError("Error: \(error)\nUsage: vmclockd \(name) [<options>]\n  See 'vmclockd \(name) --help'.")
            return 64
        }
        return command.run()
    }

    static func parse(_ arguments: ArraySlice<String>, into command: inout Self) throws(UsageError) {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            guard argument.hasPrefix("--") else { throw UsageError("unexpected argument '\(argument)'") }
            let spelled = argument.dropFirst(2)
            let (name, inline) = spelled.firstIndex(of: "=").map { (spelled[..<$0], String(spelled[spelled.index(after: $0)...])) } ?? (spelled, nil)
            guard let option = options.first(where: { $0.name == name }) else { throw UsageError("unknown option '--\(name)'") }
            if option.valueName == nil {
                guard inline == nil else { throw UsageError("--\(name) takes no value") }
                try option.apply(&command, "")
                continue
            }
            guard let value = inline ?? rest.popFirst() else { throw UsageError("--\(name) needs a value") }
            do throws(UsageError) { try option.apply(&command, value) } catch {
                throw UsageError("--\(name) '\(value)': \(error)")
            }
        }
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
    static func wrap(_ text: String, indent: Int) -> String {
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

import SystemPackage
import VMClockDaemon

/// `/etc/vmclockd.conf`: one `key = value` a line, keys the long names of
/// `vmclockd run`'s options, `#` to the end of a line a comment, flags
/// `yes` or `no`. Read by `run` and `chrony-config` (every key) and by
/// `status` and `wait` (the keys they share), through the same option
/// table as the command line, so a value means the same in both; the
/// command line, read after it, overrides it. Unknown keys are errors: a
/// typo must not be silently ignored.
struct ConfigFile {
    static let defaultPath = "/etc/vmclockd.conf"

    struct Entry {
        var key: String
        var value: String
        var line: Int
    }

    let path: String
    let entries: [Entry]

    /// `--config PATH|none` from the arguments, and the arguments without it.
    static func take(from arguments: ArraySlice<String>) throws(UsageError) -> (path: String?, explicit: Bool, rest: [String]) {
        var rest: [String] = []
        var path: String? = defaultPath
        var explicit = false
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            if argument == "--config" {
                guard let value = iterator.next() else { throw UsageError("--config needs a value") }
                (path, explicit) = (value == "none" ? nil : value, true)
            } else if argument.hasPrefix("--config=") {
                let value = String(argument.dropFirst("--config=".count))
                (path, explicit) = (value == "none" ? nil : value, true)
            } else {
                rest.append(argument)
            }
        }
        return (path, explicit, rest)
    }

    /// Reads `path`; a missing file is no error unless it was named.
    static func load(_ path: String, explicit: Bool) throws(UsageError) -> ConfigFile? {
        let text: String
        switch AtomicFile.read(path, limit: 64 * 1024) {
        case .success(let contents): text = contents
        case .failure(.noSuchFileOrDirectory) where !explicit: return nil
        case .failure(let error): throw UsageError("cannot read the config file \(path): \(error)")
        }
        var entries: [Entry] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.prefix { $0 != "#" }.trimmingSpaces
            guard !line.isEmpty else { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw UsageError("\(path):\(index + 1): '\(line)' is not 'key = value'")
            }
            let key = line[..<equals].trimmingSpaces, value = line[line.index(after: equals)...].trimmingSpaces
            guard !key.isEmpty else { throw UsageError("\(path):\(index + 1): '\(line)' has no key") }
            entries.append(Entry(key: key, value: value, line: index + 1))
        }
        return ConfigFile(path: path, entries: entries)
    }

    /// Applies every entry whose key is one of `options` (the command's) and
    /// checks the rest are keys of `vmclockd run`.
    func apply<Options>(to command: inout Options, _ options: [Option<Options>]) throws(UsageError) {
        let known = RunCommand.options.filter { !$0.hidden }
        for entry in entries {
            let place = "\(path):\(entry.line): \(entry.key) = \(entry.value)"
            guard let definition = known.first(where: { $0.name == entry.key }) else {
                throw UsageError("\(path):\(entry.line): unknown key '\(entry.key)' (the keys are the long options of 'vmclockd run --help')")
            }
            guard let option = options.first(where: { $0.name == entry.key }) else { continue }
            do throws(UsageError) {
                if definition.valueName == nil {
                    if try OptionValue.yesNo(entry.value) { try option.apply(&command, "") }
                } else {
                    guard !entry.value.isEmpty else { throw UsageError("needs a value") }
                    try option.apply(&command, entry.value)
                }
            } catch {
                throw UsageError("\(place): \(error)")
            }
        }
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
    }
}

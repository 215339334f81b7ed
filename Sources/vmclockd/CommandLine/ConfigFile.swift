import SystemPackage
import VMClockSystem

/// `/etc/vmclockd.conf`: the daemon's options in a file, so that `run` and
/// `chrony-config` (chronyd's refclock line) read one source, and `status`
/// and `wait` the keys they share with `run`. One
/// `key = value` per line, the key an option's long name; `#` starts a
/// comment, to the end of the line; flags take `yes` or `no`. A key the
/// daemon does not know, a line that is not `key = value`, or a key given
/// twice is an error: a typo must not be silently ignored.
struct ConfigFile {
    static let defaultPath = "/etc/vmclockd.conf"
    /// `--config none`: no file at all.
    static let none = "none"
    /// No config file is anywhere near this; a larger one is a wrong path.
    static let sizeLimit = 65536

    struct Entry {
        var key: String
        var value: String
        var line: Int
    }

    let path: String
    let entries: [Entry]

    /// Every key a config file may hold: the daemon's options (`run`'s, which
    /// `chrony-config` shares). Other commands apply the few they need.
    static var keys: [String] { DaemonOptions.options.filter { !$0.hidden }.map(\.name) }

    /// Reads and checks the file at `path` (nil: the default path). nil when
    /// there is no file to read: `none`, or the default path missing (the
    /// built-in defaults then). A path given explicitly must exist.
    static func load(path: String?, keys: [String] = ConfigFile.keys) throws(UsageError) -> ConfigFile? {
        let explicit = path != nil
        let path = path ?? defaultPath
        if path == none { return nil }
        guard !path.isEmpty else { throw UsageError("--config: must be a path or 'none', not empty") }
        let text: String
        do throws(ReadError) {
            text = try read(path)
        } catch {
            if error.errno == .noSuchFileOrDirectory, !explicit { return nil }
            throw UsageError("\(path): cannot read the configuration file: \(error)")
        }
        return try parse(text, path: path, keys: keys)
    }

    static func parse(_ text: String, path: String, keys: [String]) throws(UsageError) -> ConfigFile {
        var entries: [Entry] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let line = index + 1
            let content = trimmed(raw.prefix { $0 != "#" })
            if content.isEmpty { continue }
            guard let equals = content.firstIndex(of: "=") else {
                throw UsageError("\(path):\(line): '\(content)' is not a 'key = value' line")
            }
            let key = trimmed(content[..<equals])
            let value = trimmed(content[content.index(after: equals)...])
            guard !key.isEmpty else { throw UsageError("\(path):\(line): '\(content)' is not a 'key = value' line") }
            guard keys.contains(key) else {
                throw UsageError("\(path):\(line): unknown key '\(key)'; the keys are: \(keys.joined(separator: ", "))")
            }
            if let earlier = entries.first(where: { $0.key == key }) {
                throw UsageError("\(path):\(line): \(key) is already set on line \(earlier.line)")
            }
            guard !value.isEmpty else { throw UsageError("\(path):\(line): \(key) = (nothing): a value must follow '='") }
            entries.append(Entry(key: key, value: value, line: line))
        }
        return ConfigFile(path: path, entries: entries)
    }

    /// Applies the entries that `options` has options of the same name for
    /// (the others are another command's: `status` needs only the paths it
    /// shares with `run`), recording where each came from.
    func apply<T>(_ options: [Option<T>], to command: inout T, settings: inout Settings) throws(UsageError) {
        for entry in entries {
            guard let option = options.first(where: { $0.name == entry.key }) else { continue }
            let origin = "\(path):\(entry.line)"
            do throws(UsageError) {
                try option.apply(&command, entry.value)
            } catch {
                throw UsageError("\(origin): \(entry.key) = \(entry.value): \(error)")
            }
            settings.record(entry.key, entry.value, from: origin)
        }
    }

    // MARK: - reading (no Foundation in the daemon)

    /// Why the file could not be read: its errno, a too large file in the
    /// operator's words.
    struct ReadError: Error, CustomStringConvertible {
        var errno: Errno
        var description: String { errno == .fileTooLarge ? "larger than \(ConfigFile.sizeLimit) bytes" : "\(errno)" }
    }

    /// The whole file, up to `sizeLimit`.
    static func read(_ path: String) throws(ReadError) -> String {
        do throws(Errno) {
            return try AtomicFile.read(path, limit: sizeLimit)
        } catch {
            throw ReadError(errno: error)
        }
    }

    private static func trimmed(_ text: Substring) -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else { return "" }
        return String(text[first...last])
    }
}

/// What the command line and the config file set, and where: the last value
/// of each key and its origin ("--max-error", "/etc/vmclockd.conf:4"), for
/// messages that name both keys of a cross-key check and for --print-config.
struct Settings {
    private(set) var values: [String: (value: String, origin: String)] = [:]
    /// The config file read, if any.
    var configFile: String?

    mutating func record(_ key: String, _ value: String, from origin: String) { values[key] = (value, origin) }

    /// Where `key`'s value came from; "default" when nothing set it.
    func origin(_ key: String) -> String { values[key]?.origin ?? "default" }

    /// "/etc/vmclockd.conf and the command line", for what a generated file
    /// says it was made from.
    var sources: String {
        let onCommandLine = values.contains { ConfigFile.keys.contains($0.key) && $0.value.origin.hasPrefix("--") }
        let file = configFile ?? "the built-in defaults (no config file)"
        return onCommandLine ? "\(file) and the command line" : file
    }
}

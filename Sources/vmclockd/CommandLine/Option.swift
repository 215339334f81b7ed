/// A bad command line: printed with the command's usage, exit status 64.
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One `--name [value]` option of a command: what it is called, the value
/// it takes (none for a flag), its help, and how it sets the command's
/// options. Written by hand instead of with swift-argument-parser, which
/// links FoundationEssentials into the daemon: 4 MiB of resident memory in a
/// process that runs for months (BENCHMARKS.md, "Cost beside chronyd").
struct Option<Options> {
    let name: String
    /// nil for a flag.
    let valueName: String?
    let help: String
    let defaultText: String?
    /// Left out of --help (test seams).
    var hidden = false
    let apply: (inout Options, String) throws(UsageError) -> Void

    /// An option that takes a value.
    init(_ name: String, value: String, help: String, default defaultText: String? = nil,
         _ apply: @escaping (inout Options, String) throws(UsageError) -> Void) {
        (self.name, valueName, self.help, self.defaultText, self.apply) = (name, value, help, defaultText, apply)
    }

    /// A flag: present or not.
    init(flag name: String, help: String, _ set: @escaping (inout Options) -> Void) {
        (self.name, valueName, self.help, defaultText) = (name, nil, help, nil)
        apply = { options, _ in set(&options) }
    }

    private init(_ other: Option<some Any>, apply: @escaping (inout Options, String) throws(UsageError) -> Void) {
        (name, valueName, help, defaultText, hidden) = (other.name, other.valueName, other.help, other.defaultText, other.hidden)
        self.apply = apply
    }

    /// The same option for a command that keeps these options at `path`
    /// (`run` and `chrony-config` share the daemon's).
    static func lifted<Inner>(_ option: Option<Inner>, at path: WritableKeyPath<Options, Inner>) -> Option<Options> {
        Option(option) { (outer: inout Options, value: String) throws(UsageError) in try option.apply(&outer[keyPath: path], value) }
    }
}

/// Values as options take them; each error names the option and the value.
enum OptionValue {
    static func double(_ text: String, _ option: String) throws(UsageError) -> Double {
        guard let value = Double(text), value.isFinite else { throw UsageError("--\(option): '\(text)' is not a number") }
        return value
    }

    static func unsigned(_ text: String, _ option: String) throws(UsageError) -> UInt64 {
        guard let value = UInt64(text) else { throw UsageError("--\(option): '\(text)' is not a non-negative integer") }
        return value
    }

    static func choice<T>(_ text: String, _ option: String, _ choices: [(String, T)]) throws(UsageError) -> T {
        guard let match = choices.first(where: { $0.0 == text }) else {
            throw UsageError("--\(option): '\(text)' is not one of \(choices.map(\.0).joined(separator: ", "))")
        }
        return match.1
    }
}

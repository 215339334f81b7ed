/// A bad command line or config file: printed with the command's usage,
/// exit status 64, nothing started. An option's `apply` throws only the
/// problem with the value ("must be at most 1 (seconds)"); where it came
/// from (`--max-error 2`, `/etc/vmclockd.conf:4: max-error = 2`) is added
/// by whoever read it.
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
    static func double(_ text: String) throws(UsageError) -> Double {
        guard let value = Double(text), value.isFinite else { throw UsageError("is not a number") }
        return value
    }

    /// A number within `range`.
    static func double(_ text: String, in range: NumberRange) throws(UsageError) -> Double {
        let value = try double(text)
        guard range.contains(value) else { throw UsageError("must be \(range)") }
        return value
    }

    static func unsigned(_ text: String) throws(UsageError) -> UInt64 {
        guard let value = UInt64(text) else { throw UsageError("is not a non-negative integer") }
        return value
    }

    static func choice<T>(_ text: String, _ choices: [(String, T)]) throws(UsageError) -> T {
        guard let match = choices.first(where: { $0.0 == text }) else {
            throw UsageError("is not one of \(choices.map(\.0).joined(separator: ", "))")
        }
        return match.1
    }

    /// A flag's value in a config file.
    static func yesNo(_ text: String) throws(UsageError) -> Bool {
        switch text {
        case "yes", "true", "on", "1": return true
        case "no", "false", "off", "0": return false
        default: throw UsageError("is not yes or no")
        }
    }
}

/// The values a number option allows, said the way its error says them.
struct NumberRange: CustomStringConvertible {
    var lower: Double
    /// The lower end itself is allowed (≥) or not (>).
    var includesLower: Bool
    var upper: Double
    var unit: String

    func contains(_ value: Double) -> Bool { (includesLower ? value >= lower : value > lower) && value <= upper }

    var description: String {
        "\(includesLower ? "at least" : "greater than") \(Self.format(lower)) and at most \(Self.format(upper)) (\(unit))"
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }
}

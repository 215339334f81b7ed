/// A bad command line or configuration file: printed with the command's
/// usage, exit status 64, and nothing started.
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One `--name [value]` option of a command: what it is called, the value
/// it takes (none for a flag), its help, and how it sets the command's
/// options. Written by hand instead of with swift-argument-parser, which
/// links FoundationEssentials into the daemon: 4 MiB of resident memory in a
/// process that runs for months (BENCHMARKS.md, "Cost beside chronyd").
///
/// `apply` throws only the reason a value is refused ("must be at most 1
/// (seconds)"); whoever read the value puts in front of it where it came from
/// (`--max-error 2` or `/etc/vmclockd.conf:4: max-error = 2`).
struct Option<Options> {
    let name: String
    /// nil for a flag.
    let valueName: String?
    let help: String
    let defaultText: String?
    /// Left out of --help (test seams).
    var hidden = false
    /// For a flag the value is `yes` or `no` (a config file can say either;
    /// the command line says `yes` by naming it).
    let apply: (inout Options, String) throws(UsageError) -> Void

    /// An option that takes a value.
    init(_ name: String, value: String, help: String, default defaultText: String? = nil,
         _ apply: @escaping (inout Options, String) throws(UsageError) -> Void) {
        (self.name, valueName, self.help, self.defaultText, self.apply) = (name, value, help, defaultText, apply)
    }

    /// A flag: present or not. Flags only turn something on, and a config
    /// file is applied to the defaults, so `no` leaves the default (off).
    init(flag name: String, help: String, _ set: @escaping (inout Options) -> Void) {
        (self.name, valueName, self.help, defaultText) = (name, nil, help, nil)
        apply = { (options: inout Options, value: String) throws(UsageError) in
            if try OptionValue.yesNo(value) { set(&options) }
        }
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

/// The values a number option accepts, declared with it and checked where
/// the value is read, so each refusal says exactly what would have been fine.
struct NumberRange {
    var lower: Double
    /// false: the lower end itself is refused ("greater than 0").
    var includesLower: Bool
    var upper: Double
    /// What the number counts, for messages: "seconds", "ppm".
    var unit: String

    static func from(_ lower: Double, to upper: Double, _ unit: String) -> NumberRange {
        NumberRange(lower: lower, includesLower: true, upper: upper, unit: unit)
    }

    static func above(_ lower: Double, to upper: Double, _ unit: String) -> NumberRange {
        NumberRange(lower: lower, includesLower: false, upper: upper, unit: unit)
    }

    func contains(_ value: Double) -> Bool {
        (includesLower ? value >= lower : value > lower) && value <= upper
    }

    /// "must be greater than 0 and at most 1 (seconds)"
    var requirement: String {
        let low = includesLower ? "at least \(OptionValue.text(lower))" : "greater than \(OptionValue.text(lower))"
        return "must be \(low) and at most \(OptionValue.text(upper)) (\(unit))"
    }

    /// For --help and the config template: "0.0625 to 16", "above 0, up to 1".
    var summary: String {
        includesLower ? "\(OptionValue.text(lower)) to \(OptionValue.text(upper))"
            : "above \(OptionValue.text(lower)), up to \(OptionValue.text(upper))"
    }

    func parse(_ text: String) throws(UsageError) -> Double {
        guard let value = Double(text), value.isFinite else { throw UsageError("not a number; \(requirement)") }
        guard contains(value) else { throw UsageError(requirement) }
        return value
    }
}

/// Values as options take them; each error is the reason alone (see `Option`).
enum OptionValue {
    static func double(_ text: String) throws(UsageError) -> Double {
        guard let value = Double(text), value.isFinite else { throw UsageError("not a number") }
        return value
    }

    /// A number within `range` (the options of DaemonOptions declare theirs).
    static func double(_ text: String, in range: NumberRange) throws(UsageError) -> Double { try range.parse(text) }

    static func unsigned(_ text: String) throws(UsageError) -> UInt64 {
        guard let value = UInt64(text) else { throw UsageError("not a non-negative integer") }
        return value
    }

    static func choice<T>(_ text: String, _ choices: [(String, T)]) throws(UsageError) -> T {
        guard let match = choices.first(where: { $0.0 == text }) else {
            throw UsageError("must be one of \(choices.map(\.0).joined(separator: ", "))")
        }
        return match.1
    }

    /// A flag's value in a config file.
    static func yesNo(_ text: String) throws(UsageError) -> Bool {
        switch text {
        case "yes": return true
        case "no": return false
        default: throw UsageError("must be yes or no")
        }
    }

    /// A path: anything but nothing.
    static func path(_ text: String) throws(UsageError) -> String {
        guard !text.isEmpty else { throw UsageError("must be a path, not empty") }
        return text
    }

    /// A number as an operator writes it: 16, not 16.0; 0.0625.
    static func text(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return "\(Int64(value))" }
        return "\(value)"
    }
}

/// One line of vmclock-sim's command input.
public enum SimulatorCommand: Equatable {
    /// `set key=value ...`: change settings (see `SimulationSettings.keys`).
    case set([String])
    /// `disrupt [step_ns=N] [period_error_ppm=X]`: a migration.
    case disrupt(stepNanoseconds: Int64, periodErrorPPM: Double?)
    /// `step step_ns=N`: the host steps its time by N ns and keeps its
    /// marker (a host breaking its error bounds when N exceeds them).
    case step(stepNanoseconds: Int64)
    /// `restore [step_ns=N]`: a snapshot restore (generation and marker).
    case restore(stepNanoseconds: Int64)
    /// `marker N` / `generation N`: set the raw values.
    case marker(UInt64)
    case generation(UInt64)
    /// `stall` / `unstall`: leave seq_count odd, or finish the update.
    case stall, unstall
    /// `remove` / `recreate`: the device vanishes, or comes back as a new file.
    case remove, recreate
    /// `sync`: publish now and acknowledge.
    case sync
    case quit

    public static let usage = """
        commands (one per line; each is acknowledged with "ok seq=… marker=… generation=… offset_ns=…
        published_ns=…" once published (published_ns: CLOCK_REALTIME right after), or "error: …"):
          set key=value ...            change settings (keys as on the command line)
          disrupt [step_ns=N] [period_error_ppm=X]
                                       migration: new disruption_marker, optional time step and period change
          step step_ns=N               the host steps its time by N ns, disruption_marker unchanged
          restore [step_ns=N]          snapshot restore: new vm_generation_counter and disruption_marker
          marker N | generation N      set disruption_marker / vm_generation_counter to N
          stall | unstall              leave seq_count odd (host stuck mid-update) / finish the update
          remove | recreate            unlink the page file / create a new one at the same path
          sync                         publish now
          quit                         exit (so does end of input)
        """

    public init(line: String) throws(CommandError) {
        let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let verb = words.first else { throw .empty }
        let arguments = Array(words.dropFirst())
        switch verb {
        case "set": self = .set(arguments)
        case "disrupt":
            let options = try Self.options(arguments, allowed: ["step_ns", "period_error_ppm"])
            self = .disrupt(
                stepNanoseconds: try Self.value(options["step_ns"], "step_ns") ?? 0,
                periodErrorPPM: try Self.value(options["period_error_ppm"], "period_error_ppm"))
        case "step":
            let options = try Self.options(arguments, allowed: ["step_ns"])
            guard let step: Int64 = try Self.value(options["step_ns"], "step_ns") else { throw .badArgument("step needs step_ns=N") }
            self = .step(stepNanoseconds: step)
        case "restore":
            let options = try Self.options(arguments, allowed: ["step_ns"])
            self = .restore(stepNanoseconds: try Self.value(options["step_ns"], "step_ns") ?? 0)
        case "marker": self = .marker(try Self.single(arguments, verb))
        case "generation": self = .generation(try Self.single(arguments, verb))
        case "stall": self = .stall
        case "unstall": self = .unstall
        case "remove": self = .remove
        case "recreate": self = .recreate
        case "sync": self = .sync
        case "quit": self = .quit
        default: throw .unknown(verb)
        }
    }

    private static func options(_ words: [String], allowed: Set<String>) throws(CommandError) -> [String: String] {
        var result: [String: String] = [:]
        for word in words {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, allowed.contains(parts[0]) else { throw .badArgument(word) }
            result[parts[0]] = parts[1]
        }
        return result
    }

    private static func value<T: LosslessStringConvertible>(_ text: String?, _ name: String) throws(CommandError) -> T? {
        guard let text else { return nil }
        guard let value = T(text), (value as? Double)?.isFinite ?? true else { throw .badArgument("\(name)=\(text)") }
        return value
    }

    private static func single(_ words: [String], _ verb: String) throws(CommandError) -> UInt64 {
        guard words.count == 1, let value = UInt64(words[0]) else { throw .badArgument("\(verb) takes one number") }
        return value
    }
}

public enum CommandError: Error, Equatable, CustomStringConvertible {
    case empty, unknown(String), badArgument(String)

    public var description: String {
        switch self {
        case .empty: "empty command"
        case .unknown(let verb): "unknown command '\(verb)'"
        case .badArgument(let text): "bad argument '\(text)'"
        }
    }
}

import VMClockPage

extension StatusReport {
    func jsonText() -> String { json.text }

    func plainText() -> String {
        var lines = [
            row("device", device + (readMethod.map { " (\($0))" } ?? "")),
            row("verdict", verdict.name + (reason.map { ": \($0)" } ?? "")),
        ]
        if let page {
            lines.append("page")
            lines += page.fields.map { field in
                let value = field.value.map { "\($0)" + (field.annotation.map { " (\($0))" } ?? "") } ?? "absent"
                return row("  " + field.name, value)
            }
        }
        if let evaluation { lines += evaluation.textLines() }
        if let daemon { lines += daemon.textLines() }
        return lines.joined(separator: "\n")
    }
}

extension Evaluation {
    func textLines() -> [String] {
        var lines = ["evaluation at counter \(counter)"]
        if let utcSeconds, let utcNanoseconds {
            lines.append(row("  utc", "\(CivilTime.iso8601(seconds: utcSeconds, nanoseconds: utcNanoseconds)) (\(utcSeconds).\(padded(utcNanoseconds)))"))
        }
        if let taiOffsetConvention { lines.append(row("  tai offset read as", taiOffsetConvention)) }
        lines.append(row("  max error", maxErrorNs.map(Self.duration) ?? "not given by the page"))
        lines.append(row("  est error", estErrorNs.map(Self.duration) ?? "not given by the page"))
        if let system {
            lines.append(row("  system time", "\(CivilTime.iso8601(seconds: system.realtimeSeconds, nanoseconds: system.realtimeNanoseconds))"))
            lines.append(row("  offset", "\(system.offsetNs >= 0 ? "+" : "")\(system.offsetNs) ns (vmclock − system)"))
            lines.append(row("  read uncertainty", Self.duration(system.readUncertaintyNs)))
            lines.append(row("  offset good to", system.offsetMaxErrorNs.map { "±" + Self.duration($0) } ?? "unknown (page gives no max error)"))
        }
        return lines
    }

    static func duration(_ ns: UInt64) -> String { "\(ns) ns" }
}

func row(_ label: String, _ value: String) -> String {
    label + String(repeating: " ", count: max(1, 42 - label.count)) + value
}

private func padded(_ nanoseconds: Int64) -> String {
    let text = String(nanoseconds)
    return String(repeating: "0", count: max(0, 9 - text.count)) + text
}

/// ISO 8601 with the page's nanoseconds (Foundation's formatters stop at ms).
enum CivilTime {
    static func iso8601(seconds: Int64, nanoseconds: Int64) -> String {
        let date = CivilDate(secondsSinceEpoch: seconds)
        let secondOfDay = seconds - date.startOfDaySeconds
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(date.year)-\(two(date.month))-\(two(date.day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)).\(padded(nanoseconds))Z"
    }
}

/// A JSON document, written and read by hand: the daemon's binary carries no
/// Foundation (its coders alone are megabytes of resident memory for a
/// report of a few dozen keys). Objects print with sorted keys, two-space
/// indentation and `"key" : value`, as `status --json` always has. Numbers
/// are integers only: every value published is counted in units (ns).
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int128)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public static func from(_ value: (some BinaryInteger)?) -> JSONValue { value.map { .integer(Int128($0)) } ?? .null }
    public static func from(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    /// A 64-bit value as a decimal string: jq 1.6 and JavaScript read JSON
    /// numbers as doubles, exact only up to 2^53, and two disruption markers
    /// that differ in the last digits would compare equal there.
    public static func exact(_ value: (some BinaryInteger)?) -> JSONValue { value.map { .string(String($0)) } ?? .null }

    public var text: String {
        var out = ""
        write(to: &out, indent: "")
        return out
    }

    private func write(to out: inout String, indent: String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .integer(let value): out += String(value)
        case .string(let value): Self.quote(value, into: &out)
        case .array(let items):
            guard !items.isEmpty else { return out += "[]" }
            out += "[\n"
            for (index, item) in items.enumerated() {
                out += indent + "  "
                item.write(to: &out, indent: indent + "  ")
                out += index < items.count - 1 ? ",\n" : "\n"
            }
            out += indent + "]"
        case .object(let members):
            guard !members.isEmpty else { return out += "{}" }
            out += "{\n"
            let keys = members.keys.sorted()
            for (index, key) in keys.enumerated() {
                out += indent + "  "
                Self.quote(key, into: &out)
                out += " : "
                members[key]!.write(to: &out, indent: indent + "  ")
                out += index < keys.count - 1 ? ",\n" : "\n"
            }
            out += indent + "}"
        }
    }

    /// RFC 8259 string escaping (slashes left as they are).
    private static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

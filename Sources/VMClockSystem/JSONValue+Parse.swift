extension JSONValue {
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var offset: Int
        public var problem: String
        public var description: String { "byte \(offset): \(problem)" }
    }

    /// Parses RFC 8259 JSON whose numbers are integers (what `text` writes).
    /// Never traps: depth, length and every escape are checked, since the
    /// file read may be truncated, foreign or corrupt.
    public init(parsing text: String) throws(ParseError) {
        var parser = JSONParser(bytes: Array(text.utf8))
        self = try parser.document()
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    var index = 0
    var depth = 0
    static let maximumDepth = 32

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() throws(JSONValue.ParseError) -> JSONValue {
        let value = try self.value()
        skipSpace()
        guard index == bytes.count else { throw fail("text after the document") }
        return value
    }

    private func fail(_ problem: String) -> JSONValue.ParseError { .init(offset: index, problem: problem) }

    private mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private mutating func value() throws(JSONValue.ParseError) -> JSONValue {
        skipSpace()
        guard index < bytes.count else { throw fail("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try nested { (p: inout JSONParser) throws(JSONValue.ParseError) in try p.object() }
        case UInt8(ascii: "["): return try nested { (p: inout JSONParser) throws(JSONValue.ParseError) in try p.array() }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .integer(try integer())
        }
    }

    private mutating func nested(_ body: (inout JSONParser) throws(JSONValue.ParseError) -> JSONValue) throws(JSONValue.ParseError) -> JSONValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else { throw fail("nested deeper than \(Self.maximumDepth)") }
        index += 1
        return try body(&self)
    }

    private mutating func object() throws(JSONValue.ParseError) -> JSONValue {
        var members: [String: JSONValue] = [:]
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let key = try string()
            skipSpace()
            try expect(":")
            guard members.updateValue(try value(), forKey: key) == nil else { throw fail("duplicate key '\(key)'") }
            skipSpace()
            if try separator(closing: "}") { return .object(members) }
        }
    }

    private mutating func array() throws(JSONValue.ParseError) -> JSONValue {
        var items: [JSONValue] = []
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
        while true {
            items.append(try value())
            skipSpace()
            if try separator(closing: "]") { return .array(items) }
        }
    }

    /// After a member: true at the closing bracket, false after a comma.
    private mutating func separator(closing: Unicode.Scalar) throws(JSONValue.ParseError) -> Bool {
        guard index < bytes.count else { throw fail("unexpected end") }
        let byte = bytes[index]
        index += 1
        if byte == UInt8(ascii: closing) { return true }
        guard byte == UInt8(ascii: ",") else { index -= 1; throw fail("expected ',' or '\(closing)'") }
        return false
    }

    private mutating func expect(_ scalar: Unicode.Scalar) throws(JSONValue.ParseError) {
        guard index < bytes.count, bytes[index] == UInt8(ascii: scalar) else { throw fail("expected '\(scalar)'") }
        index += 1
    }

    private mutating func literal(_ word: String) throws(JSONValue.ParseError) {
        let spelled = Array(word.utf8)
        guard bytes.count - index >= spelled.count, Array(bytes[index..<index + spelled.count]) == spelled else {
            throw fail("unknown literal")
        }
        index += spelled.count
    }

    private mutating func integer() throws(JSONValue.ParseError) -> Int128 {
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let digits = index
        while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
        guard index > digits else { throw fail("expected a value") }
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
            throw fail("only integers are expected")
        }
        guard bytes[digits] != 0x30 || index == digits + 1,
              let value = Int128(String(decoding: bytes[start..<index], as: UTF8.self)) else {
            throw fail("not an integer in range")
        }
        return value
    }

    private mutating func string() throws(JSONValue.ParseError) -> String {
        index += 1  // the opening quote
        var scalars = String.UnicodeScalarView()
        var run = index
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                try appendUTF8(bytes[run..<index], to: &scalars)
                index += 1
                if byte == UInt8(ascii: "\"") { return String(scalars) }
                scalars.append(try escape())
                run = index
                continue
            }
            guard byte >= 0x20 else { throw fail("control character in a string") }
            index += 1
        }
    }

    private func appendUTF8(_ slice: ArraySlice<UInt8>, to scalars: inout String.UnicodeScalarView) throws(JSONValue.ParseError) {
        guard !slice.isEmpty else { return }
        guard let text = String(validating: slice, as: UTF8.self) else { throw fail("invalid UTF-8") }
        scalars.append(contentsOf: text.unicodeScalars)
    }

    private mutating func escape() throws(JSONValue.ParseError) -> Unicode.Scalar {
        guard index < bytes.count else { throw fail("unterminated escape") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{8}"
        case UInt8(ascii: "f"): return "\u{C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"): return try unicodeEscape()
        default: index -= 1; throw fail("unknown escape")
        }
    }

    /// \uXXXX, with a surrogate pair as two of them.
    private mutating func unicodeEscape() throws(JSONValue.ParseError) -> Unicode.Scalar {
        let first = try hex4()
        if (0xD800..<0xDC00).contains(first) {
            guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                throw fail("lone surrogate")
            }
            index += 2
            let second = try hex4()
            guard (0xDC00..<0xE000).contains(second) else { throw fail("lone surrogate") }
            return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
        }
        guard let scalar = Unicode.Scalar(first) else { throw fail("lone surrogate") }
        return scalar
    }

    private mutating func hex4() throws(JSONValue.ParseError) -> UInt32 {
        guard bytes.count - index >= 4, let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
        else { throw fail("bad \\u escape") }
        // UInt32(radix:) accepts a leading sign: four hex digits only.
        guard bytes[index..<index + 4].allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") }) else { throw fail("bad \\u escape") }
        index += 4
        return value
    }
}

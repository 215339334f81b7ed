extension JSONValue {
    /// A document that parsed but is not the shape expected: which key, and why.
    public struct Mismatch: Error, Equatable, CustomStringConvertible {
        public var path: String
        public var problem: String
        public var description: String { "\(path): \(problem)" }
        package init(path: String, problem: String) { (self.path, self.problem) = (path, problem) }
    }

    /// Typed access to one object's members, each failure naming its key path.
    public struct Reader {
        let members: [String: JSONValue]
        let path: String

        public init(_ value: JSONValue, at path: String) throws(Mismatch) {
            guard case .object(let members) = value else { throw Mismatch(path: path.isEmpty ? "document" : path, problem: "not an object") }
            (self.members, self.path) = (members, path)
        }

        private func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

        private func member(_ key: String) throws(Mismatch) -> JSONValue {
            guard let value = members[key] else { throw Mismatch(path: name(key), problem: "missing") }
            return value
        }

        public func object(_ key: String) throws(Mismatch) -> Reader { try Reader(member(key), at: name(key)) }

        public func optionalObject(_ key: String) throws(Mismatch) -> Reader? {
            let value = try member(key)
            return value == .null ? nil : try Reader(value, at: name(key))
        }

        /// A JSON number, or a decimal string (how 64-bit values are written
        /// since schema 2: `JSONValue.exact`), in range for `T`.
        public func integer<T: FixedWidthInteger>(_ key: String) throws(Mismatch) -> T {
            let value: T?
            switch try member(key) {
            case .integer(let raw): value = T(exactly: raw)
            case .string(let text): value = T(text, radix: 10)
            default: value = nil
            }
            guard let value else { throw Mismatch(path: name(key), problem: "not an integer in range for \(T.self)") }
            return value
        }

        public func optionalInteger<T: FixedWidthInteger>(_ key: String) throws(Mismatch) -> T? {
            try member(key) == .null ? nil : try integer(key) as T
        }

        public func string(_ key: String) throws(Mismatch) -> String {
            guard case .string(let value) = try member(key) else { throw Mismatch(path: name(key), problem: "not a string") }
            return value
        }

        public func optionalString(_ key: String) throws(Mismatch) -> String? {
            try member(key) == .null ? nil : try string(key)
        }

        public func bool(_ key: String) throws(Mismatch) -> Bool {
            guard case .bool(let value) = try member(key) else { throw Mismatch(path: name(key), problem: "not true or false") }
            return value
        }

        public func strings(_ key: String) throws(Mismatch) -> [String] {
            guard case .array(let items) = try member(key) else { throw Mismatch(path: name(key), problem: "not an array") }
            var strings: [String] = []
            for item in items {
                guard case .string(let value) = item else { throw Mismatch(path: name(key), problem: "holds a non-string") }
                strings.append(value)
            }
            return strings
        }

        /// An object of integer counts ("by_kind").
        public func integers(_ key: String) throws(Mismatch) -> [String: Int] {
            let object = try self.object(key)
            var counts: [String: Int] = [:]
            for member in object.members.keys { counts[member] = try object.integer(member) }
            return counts
        }
    }
}

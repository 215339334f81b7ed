/// An errno value as the pure layers carry it, without the C library: its
/// number, and the text strerror gave for it where the call failed (the
/// layer that made the call fills it in; see VMClockSystem's
/// `ErrorNumber(Errno)`). Two are equal when their numbers are.
public struct ErrorNumber: Error, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public let description: String

    public init(rawValue: Int32, description: String) {
        (self.rawValue, self.description) = (rawValue, description)
    }

    public static func == (a: Self, b: Self) -> Bool { a.rawValue == b.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
}

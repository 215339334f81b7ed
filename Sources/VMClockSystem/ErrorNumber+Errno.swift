import ErrorNumbers
import SystemPackage

extension ErrorNumber {
    /// A failed call's errno, for the pure layers: its number and strerror's text.
    public init(_ errno: Errno) { self.init(rawValue: errno.rawValue, description: errno.description) }
}

/// Exit statuses of `vmclockd status`, documented in its --help.
enum StatusExit: Int32 {
    /// The page is usable, or disruption-only (what such a device is for).
    case ok = 0
    /// The device exists but cannot be read (permission, I/O error).
    case unreadable = 1
    /// No device at the path.
    case noDevice = 2
    /// The page is malformed, busy, foreign or not vouched for by the host.
    case pageUnusable = 3

    static let help = """
        exit status: 0 page usable or disruption-only; 1 device unreadable (permission, I/O); \
        2 no device; 3 page unusable (malformed, busy, foreign counter, no UTC, or clock_status \
        not synchronized/freerunning); 64 bad arguments.
        """
}

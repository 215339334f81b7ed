import SystemPackage
import VMClockSystem

/// Whether the kernel still trusts the TSC, asked the way a daemon can.
///
/// The kernel's driver refuses cross-timestamps once the TSC is marked
/// unstable (`check_tsc_unstable()` in ptp_vmclock.c): a TSC that differs
/// between vCPUs passes both the bracket and the rate check. That flag is
/// not exported, but its consequence is: `mark_tsc_unstable()` ("Marking TSC
/// unstable due to …" in dmesg) marks the tsc clocksource unstable, which
/// clears its CLOCK_SOURCE_VALID_FOR_HRES, drops its rating to 0 and switches
/// the system away from it; and `available_clocksource` lists no clocksource
/// without VALID_FOR_HRES while the tick runs in one-shot mode (NO_HZ or
/// high-resolution timers: every modern kernel). So "tsc" missing from that
/// list means the kernel does not trust it (never registered counts too: a
/// TSC the kernel refused at boot). `current_clocksource` alone would not
/// do: kvm-clock may be chosen over a perfectly good TSC.
///
/// Read at start, on SIGHUP and then every few seconds, never per look, into
/// a buffer allocated once.
final class KernelTSCWatch {
    enum Verdict: Equatable, Sendable {
        case trusted, unstable
        /// The file could not be read: the kernel's verdict is unknown.
        case unreadable(Errno)
    }

    static let intervalNanoseconds: Int64 = 5_000_000_000

    let path: String
    private var nextCheck: Int64 = .min
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)

    init(path: String) { self.path = path }

    deinit { buffer.deallocate() }

    /// The next `check` reads the file whenever it comes (SIGHUP).
    func checkSoon() { nextCheck = .min }

    /// The kernel's verdict when a check is due, else nil.
    func check(now: Int64) -> Verdict? {
        guard now >= nextCheck else { return nil }
        nextCheck = now + Self.intervalNanoseconds
        do throws(Errno) {
            let file = try FileDescriptor(opening: path, .readOnly, options: [.closeOnExec])
            defer { file.closeQuietly() }
            let count = try file.readSome(into: buffer)
            return Self.verdict(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        } catch {
            return .unreadable(error)
        }
    }

    /// Trusted if "tsc" is one of the whitespace-separated names.
    static func verdict(_ text: UnsafeRawBufferPointer) -> Verdict {
        var start = 0
        for end in 0...text.count where end == text.count || isSpace(text[end]) {
            if end - start == 3, text[start] == UInt8(ascii: "t"), text[start + 1] == UInt8(ascii: "s"),
                text[start + 2] == UInt8(ascii: "c")
            {
                return .trusted
            }
            start = end + 1
        }
        return .unstable
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t")
    }
}

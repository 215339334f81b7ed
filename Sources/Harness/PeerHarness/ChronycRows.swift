/// Which chronyd a `ChronyProcess` runs.
public enum ChronyFlavor: CaseIterable, CustomStringConvertible, Sendable {
    /// The host's /usr/sbin/chronyd: Debian 12's chrony 4.3.
    case debian12
    /// Debian 13's chrony 4.6.1, in the root `.ci/trixie-chrony` makes.
    case debian13

    public var isChrooted: Bool { self == .debian13 }

    public var description: String {
        switch self {
        case .debian12: "Debian 12 chronyd 4.3"
        case .debian13: "Debian 13 chronyd 4.6"
        }
    }
}

// MARK: chronyc -c rows
//
// Column meanings verified against chrony 4.3 by running `chronyc -c X` and
// `chronyc X -v` side by side on the same private chronyd. In CSV mode chronyc
// prints raw values: seconds (not "us"/"ms"), signed where the text form
// prints an absolute value plus a word, and no unit suffixes.

/// One line of `chronyc -c sourcestats`:
///   0 name · 1 NP (number of sample points in the measurement set) ·
///   2 NR (residual runs with the same sign) · 3 span (s) ·
///   4 frequency (ppm, est. clock freq error) · 5 freq skew (ppm) ·
///   6 est. offset (s; the text form's "Offset" in us/ms) · 7 std dev (s).
/// Example: `VMCK,4,3,20,-0.000,0.000,-0.005000000,0.000000001` is shown as
/// `VMCK  4  3  20  -0.000  0.000  -5000us  1ns`. With NP < 3 chronyd has no
/// spread yet and reports std dev 4 s (and skew 2000 ppm).
public struct SourceStatsRow: Equatable {
    public var name: String
    public var samples: Int
    public var runs: Int
    public var spanSeconds: Int
    public var frequencyPPM: Double
    public var skewPPM: Double
    public var offsetSeconds: Double
    public var standardDeviationSeconds: Double

    public init?(csv line: Substring) {
        let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 8, let np = Int(f[1]), let nr = Int(f[2]), let span = Int(f[3]),
            let freq = Double(f[4]), let skew = Double(f[5]), let offset = Double(f[6]), let sd = Double(f[7])
        else { return nil }
        (name, samples, runs, spanSeconds) = (f[0], np, nr, span)
        (frequencyPPM, skewPPM, offsetSeconds, standardDeviationSeconds) = (freq, skew, offset, sd)
    }
}

/// One line of `chronyc -c sources`:
///   0 mode (`#` local clock/refclock, `^` server, `=` peer) ·
///   1 state (`*` selected, `+` combined, `-` not combined, `?` unusable,
///     `x` maybe in error, `~` too variable) · 2 name · 3 stratum ·
///   4 poll (log2 s) · 5 reach (the reachability register, in OCTAL as in the
///     text form: `17` = the last 4 polls) · 6 LastRx (s since the last sample;
///     4294967295 = never) · 7 adjusted offset (s; the text form's xxxx) ·
///   8 measured offset (s; the text form's [yyyy]) · 9 error (s; +/- zzzz).
/// Offsets are source − local with the sign reversed: a reference 5 ms ahead
/// of the system clock shows as -0.005000000 (text `-5000us[-5000us]`).
public struct SourcesRow: Equatable {
    public var mode: String
    public var state: String
    public var name: String
    public var stratum: Int
    public var pollLog2: Int
    public var reach: Int
    public var lastRxSeconds: UInt32?
    public var adjustedOffsetSeconds: Double
    public var measuredOffsetSeconds: Double
    public var errorSeconds: Double

    public init?(csv line: Substring) {
        let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 10, let stratum = Int(f[3]), let poll = Int(f[4]), let reach = Int(f[5], radix: 8),
            let lastRx = UInt32(f[6]), let adjusted = Double(f[7]), let measured = Double(f[8]),
            let error = Double(f[9])
        else { return nil }
        (mode, state, name, self.stratum, pollLog2, self.reach) = (f[0], f[1], f[2], stratum, poll, reach)
        lastRxSeconds = lastRx == UInt32.max ? nil : lastRx
        (adjustedOffsetSeconds, measuredOffsetSeconds, errorSeconds) = (adjusted, measured, error)
    }
}

/// The line of `chronyc -c tracking`:
///   0 reference ID (8 hex digits; `564D434B` = "VMCK", `00000000` = none) ·
///   1 reference name or address (`VMCK`; empty when none) · 2 stratum ·
///   3 ref time (s since the epoch, 9 decimals) ·
///   4 system time (s, SIGNED: chronyd's current correction; positive = the
///     text form's "seconds slow of NTP time", negative = "fast") ·
///   5 last offset (s, signed as in the text form: negative = the local clock
///     was behind the reference at the last update) · 6 RMS offset (s) ·
///   7 frequency (ppm, signed: negative = the text form's "ppm slow") ·
///   8 residual freq (ppm) · 9 skew (ppm) · 10 root delay (s) ·
///   11 root dispersion (s) · 12 update interval (s) · 13 leap status (text).
/// Example: `564D434B,VMCK,1,1795596828.527114739,0.008253748,-0.000381256,…`
/// is shown as "System time : 0.008253748 seconds slow of NTP time",
/// "Last offset : -0.000381256 seconds".
public struct TrackingRow: Equatable {
    public var referenceIDHex: String
    public var referenceID: UInt32
    public var referenceName: String
    public var stratum: Int
    public var referenceTime: Double
    public var systemTimeSeconds: Double
    public var lastOffsetSeconds: Double
    public var rmsOffsetSeconds: Double
    public var frequencyPPM: Double
    public var residualFrequencyPPM: Double
    public var skewPPM: Double
    public var rootDelaySeconds: Double
    public var rootDispersionSeconds: Double
    public var updateIntervalSeconds: Double
    public var leapStatus: String

    public init?(csv line: Substring) {
        let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 14, f[0].count == 8, let id = UInt32(f[0], radix: 16), let stratum = Int(f[2]) else {
            return nil
        }
        let numbers = f[3...12].compactMap(Double.init)
        guard numbers.count == 10 else { return nil }
        (referenceIDHex, referenceID, referenceName, self.stratum) = (f[0], id, f[1], stratum)
        referenceTime = numbers[0]
        systemTimeSeconds = numbers[1]
        lastOffsetSeconds = numbers[2]
        rmsOffsetSeconds = numbers[3]
        frequencyPPM = numbers[4]
        residualFrequencyPPM = numbers[5]
        skewPPM = numbers[6]
        rootDelaySeconds = numbers[7]
        rootDispersionSeconds = numbers[8]
        updateIntervalSeconds = numbers[9]
        leapStatus = f[13]
    }
}

/// What the page's `tai_offset_sec` holds. The ABI header calls it the TAI
/// offset without a sign; the mainline Linux driver computes UTC = TAI +
/// tai_offset_sec, so the field holds UTC − TAI (−37 s since 2017). A
/// host-side patch posted in 2026 writes the host kernel's TAI offset, TAI −
/// UTC (+37 s), instead.
public enum TAIOffsetConvention: String, Sendable, Equatable {
    /// The mainline driver's reading: field = UTC − TAI (negative).
    case utcMinusTAI = "utc-minus-tai"
    /// The other sign: field = TAI − UTC (positive).
    case taiMinusUTC = "tai-minus-utc"

    /// Seconds to add to a TAI time to get UTC.
    public func utcMinusTAI(_ raw: Int16) -> Int64 {
        switch self {
        case .utcMinusTAI: Int64(raw)
        case .taiMinusUTC: -Int64(raw)
        }
    }
}

/// How vmclockd reads the sign of `tai_offset_sec`.
///
/// TAI − UTC has been at least +10 s since 1972 and is +37 s now; leap
/// seconds are to stop by 2035, so its magnitude stays within 10…100 s for
/// any date this software will see. That makes the sign unambiguous:
/// `automatic` (the default) takes a negative value as UTC − TAI (the ABI
/// and mainline driver) and a positive one as TAI − UTC (the other
/// convention), and reports which it used. A value whose magnitude is
/// outside 10…100 s is rejected whatever the policy. The pinned policies
/// accept only their own sign.
public enum TAIOffsetPolicy: String, Sendable, Equatable, CaseIterable {
    case automatic = "auto"
    case utcMinusTAI = "utc-minus-tai"
    case taiMinusUTC = "tai-minus-utc"

    public static let plausibleMagnitude: ClosedRange<Int> = 10...100

    public func convention(forRawOffset raw: Int16) -> TAIOffsetConvention? {
        let magnitude = abs(Int(raw))
        guard Self.plausibleMagnitude.contains(magnitude) else { return nil }
        let implied: TAIOffsetConvention = raw < 0 ? .utcMinusTAI : .taiMinusUTC
        switch self {
        case .automatic: return implied
        case .utcMinusTAI: return implied == .utcMinusTAI ? implied : nil
        case .taiMinusUTC: return implied == .taiMinusUTC ? implied : nil
        }
    }
}

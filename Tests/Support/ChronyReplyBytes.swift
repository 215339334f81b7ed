/// chronyd's cmdmon replies as bytes, laid out as candm.h (protocol 6)
/// documents them, written here and not by ChronyClients: for the message
/// tests (ChronyClientsTests) and the VMCK query's (VMClockDaemonTests).
public enum ChronyReplyBytes {
    /// A reply header (28 bytes) and `data`: version 6, pkt_type 2, res1, res2,
    /// command, reply, status, pad1–3, sequence, pad4, pad5.
    public static func reply(command: UInt16, type: UInt16, status: UInt16 = 0, sequence: UInt32 = 7, data: [UInt8]) -> [UInt8] {
        concatenated([6, 2, 0, 0], be(command), be(type), be(status), zeros(6), be(sequence), zeros(8), data)
    }

    /// The fields in order. (Not one `+` chain: Swift 6.2, which builds the
    /// arm64 tests, gives up type-checking chains this long.)
    public static func concatenated(_ fields: [UInt8]...) -> [UInt8] { fields.flatMap { $0 } }

    public static func zeros(_ count: Int) -> [UInt8] { [UInt8](repeating: 0, count: count) }

    public static func be<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<T.bitWidth / 8).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }

    /// candm.h's Float: exponent in the top 7 bits, coefficient in the low
    /// 25, both two's complement; value = coefficient · 2^(exponent − 25).
    public static func float(coefficient: Int32, exponent: Int32) -> [UInt8] {
        be(UInt32(bitPattern: exponent) << 25 | UInt32(bitPattern: coefficient) & 0x1ff_ffff)
    }

    /// RPY_Source_Data up to EOR (48 bytes): ip_addr (in4 or in6, 16 bytes ·
    /// family · _pad) · poll · stratum · state · mode · flags · reachability
    /// · since_sample · orig_latest_meas · latest_meas · latest_meas_err.
    public static func sourceData(
        address: UInt32 = 0x564D_434B, family: UInt16 = 1, poll: Int16 = -4, stratum: UInt16 = 0, state: UInt16,
        mode: UInt16 = 2, reach: UInt16 = 0o377, since: UInt32 = 3, original: [UInt8], latest: [UInt8], error: [UInt8]
    ) -> [UInt8] {
        concatenated(
            be(address), zeros(12), be(family), zeros(2), be(poll), be(stratum), be(state), be(mode), zeros(2), be(reach),
            be(since), original, latest, error)
    }

    // -5 · 2^-10 s, -3 · 2^-20 s, 2^-12 s: exact in a Float and in a Double.
    public static let original = float(coefficient: -5 << 15, exponent: 0)
    public static let latest = float(coefficient: -3 << 15, exponent: -10)
    public static let error = float(coefficient: 1 << 20, exponent: -7)

    /// RPY_Tracking (76 bytes): ref_id · ip_addr (16 + family + _pad) ·
    /// stratum · leap_status · ref_time (sec high, sec low, nsec) ·
    /// current_correction · last_offset · rms_offset · freq_ppm ·
    /// resid_freq_ppm · skew_ppm · root_delay · root_dispersion ·
    /// last_update_interval (Floats).
    public static func tracking(
        referenceID: UInt32 = 0x564D_434B, leap: UInt16 = 0, referenceSeconds: UInt64, referenceNanoseconds: UInt32 = 0,
        correction: [UInt8], residualFrequency: [UInt8] = float(coefficient: 0, exponent: 0), skew: [UInt8],
        rootDelay: [UInt8], rootDispersion: [UInt8], updateInterval: [UInt8]
    ) -> [UInt8] {
        let zero = float(coefficient: 0, exponent: 0)
        return concatenated(
            be(referenceID), zeros(20), be(UInt16(0)), be(leap), be(UInt32(truncatingIfNeeded: referenceSeconds >> 32)),
            be(UInt32(truncatingIfNeeded: referenceSeconds)), be(referenceNanoseconds), correction, zero, zero, zero,
            residualFrequency, skew, rootDelay, rootDispersion, updateInterval)
    }
}

@testable import ChronyClients
import Testing

/// REQ_N_SOURCES / REQ_SOURCE_DATA and their replies, from bytes laid out
/// as candm.h (protocol 6) documents them; the live comparison with chronyd
/// and chronyc is in IntegrationTests (ChronySourceDataTests).
@Suite struct SourceDataMessageTests {
    /// A reply header (28 bytes) and `data`: version 6, pkt_type 2, res1, res2,
    /// command, reply, status, pad1–3, sequence, pad4, pad5.
    static func reply(command: UInt16, type: UInt16, status: UInt16 = 0, sequence: UInt32 = 7, data: [UInt8]) -> [UInt8] {
        [6, 2, 0, 0] + be(command) + be(type) + be(status) + [UInt8](repeating: 0, count: 6) + be(sequence)
            + [UInt8](repeating: 0, count: 8) + data
    }

    static func be<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<T.bitWidth / 8).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }

    /// candm.h's Float: exponent in the top 7 bits, coefficient in the low
    /// 25, both two's complement; value = coefficient · 2^(exponent − 25).
    static func float(coefficient: Int32, exponent: Int32) -> [UInt8] {
        be(UInt32(bitPattern: exponent) << 25 | UInt32(bitPattern: coefficient) & 0x1ff_ffff)
    }

    /// RPY_Source_Data up to EOR (48 bytes): ip_addr (in4 or in6, 16 bytes ·
    /// family · _pad) · poll · stratum · state · mode · flags · reachability
    /// · since_sample · orig_latest_meas · latest_meas · latest_meas_err.
    static func sourceData(
        address: UInt32 = 0x564D_434B, family: UInt16 = 1, poll: Int16 = -4, stratum: UInt16 = 0, state: UInt16,
        mode: UInt16 = 2, reach: UInt16 = 0o377, since: UInt32 = 3, original: [UInt8], latest: [UInt8], error: [UInt8]
    ) -> [UInt8] {
        be(address) + [UInt8](repeating: 0, count: 12) + be(family) + [0, 0] + be(poll) + be(stratum) + be(state) + be(mode)
            + [0, 0] + be(reach) + be(since) + original + latest + error
    }

    // -5 · 2^-10 s, -3 · 2^-20 s, 2^-12 s: exact in a Float and in a Double.
    static let original = float(coefficient: -5 << 15, exponent: 0)
    static let latest = float(coefficient: -3 << 15, exponent: -10)
    static let error = float(coefficient: 1 << 20, exponent: -7)

    @Test func requestsArePaddedToTheirRepliesLength() {
        let count = ControlRequest(command: .sourceCount, sequence: 0x0102_0304, attempt: 1).encode()
        #expect(count.count == 32, "RPY_N_SOURCES: 28-byte header + n_sources")
        #expect(Array(count[0..<12]) == [6, 1, 0, 0, 0, 14, 0, 1, 1, 2, 3, 4])
        #expect(count[12...].allSatisfy { $0 == 0 })

        let data = ControlRequest(command: .sourceData(index: 0x0A0B), sequence: 9, attempt: 0).encode()
        #expect(data.count == 76, "RPY_SOURCE_DATA: 28-byte header + 48 bytes")
        #expect(Array(data[4..<6]) == [0, 15])
        #expect(Array(data[20..<24]) == [0, 0, 0x0A, 0x0B], "index, big-endian")
        #expect(data[24...].allSatisfy { $0 == 0 })
    }

    @Test func sourceCountIsDecodedFromItsReplyType() throws {
        let reply = try #require(ControlReply(bytes: Self.reply(command: 14, type: 2, data: [0, 0, 0, 3])))
        #expect(reply.sourceCount == 3 && reply.source == nil && reply.tracking == nil)
        #expect(ControlReply(bytes: Self.reply(command: 14, type: 2, data: [0, 0, 3]))?.sourceCount == nil, "short")
        #expect(ControlReply(bytes: Self.reply(command: 14, type: 1, data: [0, 0, 0, 3]))?.sourceCount == nil, "RPY_NULL")
    }

    @Test func aRefclocksSourceDataCarriesItsRefidAsAnIPv4Address() throws {
        let bytes = Self.reply(command: 15, type: 3, data: Self.sourceData(
            state: 0, original: Self.original, latest: Self.latest, error: Self.error))
        #expect(bytes.count == 76)
        let report = try #require(ControlReply(bytes: bytes)?.source)
        #expect(report.referenceID == 0x564D_434B && report.referenceIDText == "VMCK")
        #expect(report.mode == .refclock && report.isRefclock("VMCK") && !report.isRefclock("GPS"))
        #expect(report.state == .selected && report.state.symbol == "*")
        #expect(report.poll == -4 && report.stratum == 0 && report.reachability == 0o377)
        #expect(report.sinceSampleSeconds == 3)
        #expect(report.originalLatestOffsetSeconds == -5.0 / 1024)
        #expect(report.latestOffsetSeconds == -3.0 / 1_048_576)
        #expect(report.latestErrorSeconds == 1.0 / 4096)
    }

    @Test func statesModesAndNoSampleAreChronycs() throws {
        func decoded(state: UInt16, mode: UInt16 = 2, family: UInt16 = 1, since: UInt32 = 3) throws -> SourceReport {
            let data = Self.sourceData(family: family, state: state, mode: mode, since: since, original: Self.original,
                                       latest: Self.latest, error: Self.error)
            return try #require(ControlReply(bytes: Self.reply(command: 15, type: 3, data: data))?.source)
        }
        // candm.h RPY_SD_ST_*, chronyc's characters (client.c).
        let states: [(UInt16, SourceReport.State, Character)] = [
            (0, .selected, "*"), (1, .nonselectable, "?"), (2, .falseticker, "x"), (3, .jittery, "~"),
            (4, .unselected, "+"), (5, .selectable, "-"), (9, .other(9), " "),
        ]
        for (raw, state, symbol) in states {
            let report = try decoded(state: raw)
            #expect(report.state == state && report.state.symbol == symbol, "\(raw)")
        }
        #expect(try decoded(state: 0, mode: 0).mode == .server)
        #expect(try decoded(state: 0, mode: 1).mode == .peer)
        // An NTP server at 86.77.67.75 spells VMCK too: not a refclock.
        #expect(try !decoded(state: 0, mode: 0).isRefclock("VMCK"))
        // IPv6 (family 2): no IPv4 word.
        #expect(try decoded(state: 0, mode: 0, family: 2).referenceID == 0)
        // (uint32_t)-1: no sample yet.
        #expect(try decoded(state: 1, since: .max).sinceSampleSeconds == nil)
    }

    @Test func shortOrOtherTypedRepliesCarryNoSourceData() {
        let full = Self.reply(command: 15, type: 3, data: Self.sourceData(
            state: 0, original: Self.original, latest: Self.latest, error: Self.error))
        for length in [0, 20, 27, 28, 75] {
            #expect(ControlReply(bytes: Array(full.prefix(length)))?.source == nil, "\(length) bytes")
        }
        var other = full
        other[7] = 5  // RPY_TRACKING's type with source data's bytes
        #expect(ControlReply(bytes: other)?.source == nil)
        other[7] = 1  // RPY_NULL: chronyd 4.6 had no report for the index
        #expect(ControlReply(bytes: other)?.source == nil)
        #expect(ControlReply(bytes: full + [0, 0, 0, 0])?.source != nil, "EOR and beyond are not read")
    }
}

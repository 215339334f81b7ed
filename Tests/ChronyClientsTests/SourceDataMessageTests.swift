@testable import ChronyClients
@testable import ChronyProtocol
import TestSupport
import Testing

/// REQ_N_SOURCES / REQ_SOURCE_DATA and their replies, from bytes laid out
/// as candm.h (protocol 6) documents them; the live comparison with chronyd
/// and chronyc is ChronySourceDataTests, beside it.
@Suite struct SourceDataMessageTests {
    /// The bytes (TestSupport's `ChronyReplyBytes`, shared with VMClockDaemonTests).
    typealias Bytes = ChronyReplyBytes

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
        let reply = try #require(ControlReply(bytes: Bytes.reply(command: 14, type: 2, data: [0, 0, 0, 3])))
        #expect(reply.sourceCount == 3 && reply.source == nil && reply.tracking == nil)
        #expect(ControlReply(bytes: Bytes.reply(command: 14, type: 2, data: [0, 0, 3]))?.sourceCount == nil, "short")
        #expect(ControlReply(bytes: Bytes.reply(command: 14, type: 1, data: [0, 0, 0, 3]))?.sourceCount == nil, "RPY_NULL")
    }

    @Test func aRefclocksSourceDataCarriesItsRefidAsAnIPv4Address() throws {
        let bytes = Bytes.reply(command: 15, type: 3, data: Bytes.sourceData(
            state: 0, original: Bytes.original, latest: Bytes.latest, error: Bytes.error))
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
            let data = Bytes.sourceData(family: family, state: state, mode: mode, since: since, original: Bytes.original,
                                       latest: Bytes.latest, error: Bytes.error)
            return try #require(ControlReply(bytes: Bytes.reply(command: 15, type: 3, data: data))?.source)
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
        let full = Bytes.reply(command: 15, type: 3, data: Bytes.sourceData(
            state: 0, original: Bytes.original, latest: Bytes.latest, error: Bytes.error))
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

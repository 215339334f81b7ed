/// chronyd's command protocol (cmdmon, candm.h), version 6: the few requests
/// vmclockd needs. Big-endian. Since version 6 a request must be at least as
/// long as its reply, so short requests carry zero padding; chronyd drops
/// requests of any other length without a reply.
public enum ControlCommand: Sendable, Equatable, CustomStringConvertible {
    case burst
    case tracking
    case makeStep
    case resetSources
    /// `reselect`: chronyd selects its sources again now, not at the next update.
    case reselect
    /// `selectopts REFID +noselect` / `-noselect` (chrony 4.4+; older ones
    /// answer "invalid command"): whether chronyd may select the source.
    case selectOptions(refid: String, noselect: Bool)
    /// REQ_N_SOURCES: how many sources chronyd has (its first step of `sources`).
    case sourceCount
    /// REQ_SOURCE_DATA: the source at `index` (0..<count) of chronyd's list.
    case sourceData(index: Int32)

    public var code: UInt16 {
        switch self {
        case .burst: 3
        case .tracking: 33
        case .makeStep: 43
        case .resetSources: 66
        case .reselect: 48
        case .selectOptions: 72
        case .sourceCount: 14
        case .sourceData: 15
        }
    }

    /// Writes the command data after the 20-byte header, as chronyc sends it.
    func writeData(_ out: inout ByteWriter) {
        switch self {
        // REQ_Burst: mask and address (IPAddr, 20 bytes each; family 0 =
        // unspecified = every NTP source), then n_good_samples 4, n_total 8.
        case .burst:
            out.zeros(40)
            out.put(UInt32(4))
            out.put(UInt32(8))
        // REQ_Modify_SelectOpts: address (20 bytes; unspecified = by refid),
        // ref_id, mask (selection bits: SRC_SELECT_NOSELECT = 1), options
        // (add-source bits: REQ_ADDSRC_NOSELECT = 0x10 when set); 52 bytes in
        // all, as chronyc 4.6 sends it (strace).
        case .selectOptions(let refid, let noselect):
            out.zeros(20)
            out.put(Self.referenceID(refid))
            out.put(UInt32(1))
            out.put(UInt32(noselect ? 0x10 : 0))
        // REQ_Source_Data: index.
        case .sourceData(let index): out.put(index)
        case .tracking, .makeStep, .resetSources, .reselect, .sourceCount: break
        }
    }

    /// A refid of up to four ASCII characters as chronyd's 32-bit reference ID.
    static func referenceID(_ refid: String) -> UInt32 {
        refid.utf8.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) } << (8 * UInt32(4 - min(refid.utf8.count, 4)))
    }

    /// Length of the reply chronyd sends (pktlength.c: up to the data's EOR):
    /// RPY_NULL is the 28-byte header, RPY_TRACKING adds 76 bytes of data,
    /// RPY_N_SOURCES 4, RPY_SOURCE_DATA 48.
    var replyLength: Int {
        switch self {
        case .tracking: ControlReply.headerLength + 76
        case .sourceCount: ControlReply.headerLength + 4
        case .sourceData: ControlReply.headerLength + SourceReport.dataLength
        case .burst, .makeStep, .resetSources, .reselect, .selectOptions: ControlReply.headerLength
        }
    }

    public var description: String {
        switch self {
        case .burst: "burst"
        case .tracking: "tracking"
        case .makeStep: "makestep"
        case .resetSources: "reset sources"
        case .reselect: "reselect"
        case .selectOptions(let refid, let noselect): "selectopts \(refid) \(noselect ? "+" : "-")noselect"
        case .sourceCount: "n_sources"
        case .sourceData(let index): "source_data \(index)"
        }
    }
}

public struct ControlRequest: Sendable, Equatable {
    public static let protocolVersion: UInt8 = 6
    static let headerLength = 20

    public var command: ControlCommand
    public var sequence: UInt32
    public var attempt: UInt16

    package init(command: ControlCommand, sequence: UInt32, attempt: UInt16) {
        (self.command, self.sequence, self.attempt) = (command, sequence, attempt)
    }

    /// Room for the longest request (tracking's, padded to 104 bytes).
    package static let maximumLength = 128

    public func encode() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.maximumLength) { buffer, count in
            count = encode(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// version · pkt_type (1 = request) · res1 · res2 · command · attempt ·
    /// sequence · pad1 · pad2, then data, then zeros up to the reply's
    /// length. Into `buffer` (`maximumLength` bytes), allocating nothing (the
    /// daemon's loop sends without allocating); returns the length.
    package func encode(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var out = ByteWriter(buffer: buffer)
        out.put(Self.protocolVersion)
        out.put(UInt8(1))
        out.zeros(2)
        out.put(command.code)
        out.put(attempt)
        out.put(sequence)
        out.zeros(8)
        command.writeData(&out)
        out.zeros(max(command.replyLength - out.count, 0))
        return out.count
    }
}

/// Big-endian fields into a buffer that has room for them.
struct ByteWriter {
    let buffer: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    init(buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }

    mutating func put<T: FixedWidthInteger>(_ value: T) {
        precondition(count + T.bitWidth / 8 <= buffer.count)
        buffer.storeBytes(of: value.bigEndian, toByteOffset: count, as: T.self)
        count += T.bitWidth / 8
    }

    mutating func zeros(_ n: Int) {
        precondition(count + n <= buffer.count)
        buffer[count..<count + n].initializeMemory(as: UInt8.self, repeating: 0)
        count += n
    }
}

/// A reply's header, and the data of a reply type vmclockd reads when the
/// reply is of that type and long enough for it (nil otherwise).
public struct ControlReply: Sendable, Equatable {
    static let headerLength = 28

    /// Reply status codes (STT_*) that matter to vmclockd.
    public enum Status: Equatable, Sendable, CustomStringConvertible {
        case success, failed, unauthorised, invalid, noSuchSource, badPacketVersion, badPacketLength
        case other(UInt16)

        init(_ raw: UInt16) {
            switch raw {
            case 0: self = .success
            case 1: self = .failed
            case 2: self = .unauthorised
            case 3: self = .invalid
            case 4: self = .noSuchSource
            case 18: self = .badPacketVersion
            case 19: self = .badPacketLength
            default: self = .other(raw)
            }
        }

        public var description: String {
            switch self {
            case .success: "success"
            case .failed: "failed"
            case .unauthorised: "not authorised"
            case .invalid: "invalid command (chronyd too old for it?)"
            case .noSuchSource: "no such source"
            case .badPacketVersion: "bad packet version (chronyd older than 4.0?)"
            case .badPacketLength: "bad packet length"
            case .other(let raw): "status \(raw)"
            }
        }
    }

    public var command: UInt16
    public var reply: UInt16
    public var status: Status
    public var sequence: UInt32
    /// RPY_TRACKING (5).
    public var tracking: TrackingReport?
    /// RPY_N_SOURCES (2): n_sources.
    public var sourceCount: UInt32?
    /// RPY_SOURCE_DATA (3).
    public var source: SourceReport?

    /// Parses a reply; nil unless it is a version 6 reply packet.
    public init?(bytes: [UInt8]) {
        self.init(reading: bytes)
    }

    /// The same from the channel's receive buffer (no copy to allocate).
    /// Not generic: the parser is then specialized in this module, where a
    /// generic call from another one would run it unspecialized, allocating
    /// its slices and iterators at every reply (a dozen replies a second).
    package init?(parsing bytes: UnsafeRawBufferPointer) {
        self.init(reading: bytes)
    }

    init?<Bytes: RandomAccessCollection<UInt8>>(reading bytes: Bytes) where Bytes.Index == Int {
        let o = bytes.startIndex
        guard bytes.count >= Self.headerLength, bytes[o] == ControlRequest.protocolVersion, bytes[o + 1] == 2 else { return nil }
        command = bigEndian(bytes, o + 4)
        reply = bigEndian(bytes, o + 6)
        status = Status(bigEndian(bytes, o + 8))
        sequence = bigEndian(bytes, o + 16)
        let data = o + Self.headerLength
        tracking = reply == 5 ? TrackingReport(bytes: bytes, offset: data) : nil
        sourceCount = reply == 2 && bytes.endIndex >= data + 4 ? bigEndian(bytes, data) as UInt32 : nil
        source = reply == 3 ? SourceReport(bytes: bytes, offset: data) : nil
    }

    /// The reply type (RPY_*) chronyd answers `command` with on success.
    package static func replyType(_ command: ControlCommand) -> UInt16 {
        switch command {
        case .tracking: 5
        case .sourceCount: 2
        case .sourceData: 3
        case .burst, .makeStep, .resetSources, .reselect, .selectOptions: 1
        }
    }
}

/// The parts of RPY_TRACKING that vmclockd acts on.
public struct TrackingReport: Sendable, Equatable {
    /// Reference ID of the selected source ("VMCK" for vmclockd's refclock).
    public var referenceID: UInt32
    /// When the reference was last updated (seconds since the epoch).
    public var referenceTime: Double
    /// The offset chronyd is still correcting, s: true time − system time
    /// (positive when the system clock is slow; `chronyc tracking`'s "System time").
    public var currentCorrection: Double
    public var lastOffset: Double
    /// The residual frequency and the skew, ppm: with chronyd's
    /// `maxclockerror`, how fast its root dispersion grows.
    public var residualFrequencyPPM: Double
    public var skewPPM: Double
    /// Root delay and root dispersion, s; chronyd grows the dispersion to
    /// the instant it answers (REF_GetTrackingReport).
    public var rootDelay: Double
    public var rootDispersion: Double
    /// Seconds between chronyd's last two reference updates.
    public var lastUpdateInterval: Double
    /// 0 normal, 1 insert, 2 delete, 3 unsynchronised.
    public var leapStatus: UInt16

    /// chronyd steers by a reference: it has something to lose to a reset.
    public var isSynchronised: Bool { leapStatus != 3 && referenceID != 0 }

    init?<Bytes: RandomAccessCollection<UInt8>>(bytes: Bytes, offset o: Int) where Bytes.Index == Int {
        // ref_id 4 · ip_addr 20 · stratum 2 · leap 2 · ref_time (12) · current_correction · last_offset
        // · rms_offset · freq_ppm · resid_freq_ppm · skew_ppm · root_delay · root_dispersion
        // · last_update_interval (Floats, 4 each)
        guard bytes.endIndex >= o + 76 else { return nil }
        referenceID = bigEndian(bytes, o)
        leapStatus = bigEndian(bytes, o + 26)
        let high: UInt32 = bigEndian(bytes, o + 28)
        let low: UInt32 = bigEndian(bytes, o + 32)
        let nanoseconds: UInt32 = bigEndian(bytes, o + 36)
        let seconds = high == 0x7fff_ffff ? Double(low) : Double(UInt64(high) << 32 | UInt64(low))
        referenceTime = seconds + Double(nanoseconds) * 1e-9
        currentCorrection = ChronyFloat.decode(bigEndian(bytes, o + 40))
        lastOffset = ChronyFloat.decode(bigEndian(bytes, o + 44))
        residualFrequencyPPM = ChronyFloat.decode(bigEndian(bytes, o + 56))
        skewPPM = ChronyFloat.decode(bigEndian(bytes, o + 60))
        rootDelay = ChronyFloat.decode(bigEndian(bytes, o + 64))
        rootDispersion = ChronyFloat.decode(bigEndian(bytes, o + 68))
        lastUpdateInterval = ChronyFloat.decode(bigEndian(bytes, o + 72))
    }

    public var referenceIDText: String { referenceIDString(referenceID) }
}

/// chronyd's 32-bit network float (util.c): a 7-bit signed exponent and a
/// 25-bit signed coefficient, value = coefficient · 2^(exponent − 25).
enum ChronyFloat {
    static func decode(_ raw: UInt32) -> Double {
        let exponentBits = Int32(bitPattern: raw) >> 25
        let coefficient = Int32(bitPattern: raw << 7) >> 7
        return Double(coefficient) * Double(sign: .plus, exponent: Int(exponentBits) - 25, significand: 1)
    }
}

/// A reference ID's four bytes as text, NULs left out ("VMCK").
func referenceIDString(_ referenceID: UInt32) -> String {
    String(decoding: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: referenceID >> $0) }.filter { $0 != 0 }, as: UTF8.self)
}

func bigEndian<T: FixedWidthInteger, Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, _ offset: Int) -> T
where Bytes.Index == Int {
    bytes[offset..<offset + T.bitWidth / 8].reduce(T.zero) { $0 << 8 | T($1) }
}

/// RPY_SOURCE_DATA (candm.h, protocol 6; the same in chrony 4.3 through
/// 4.8): what `chronyc sources` shows of one source.
public struct SourceReport: Sendable, Equatable {
    /// RPY_SD_ST_*, with chronyc's column character.
    public enum State: Sendable, Equatable {
        /// `*`: the source chronyd steers by.
        case selected
        /// `?`: unusable (no samples, unreachable, noselect …).
        case nonselectable
        /// `x`: may be in error.
        case falseticker
        /// `~`: too variable.
        case jittery
        /// `+`: combined with the selected one (RPY_SD_ST_UNSELECTED).
        case unselected
        /// `-`: usable, but not combined (RPY_SD_ST_SELECTABLE).
        case selectable
        case other(UInt16)

        init(_ raw: UInt16) {
            switch raw {
            case 0: self = .selected
            case 1: self = .nonselectable
            case 2: self = .falseticker
            case 3: self = .jittery
            case 4: self = .unselected
            case 5: self = .selectable
            default: self = .other(raw)
            }
        }

        /// chronyc's character for the state (a blank for one it does not know).
        public var symbol: Character {
            switch self {
            case .selected: "*"
            case .nonselectable: "?"
            case .falseticker: "x"
            case .jittery: "~"
            case .unselected: "+"
            case .selectable: "-"
            case .other: " "
            }
        }
    }

    /// RPY_SD_MD_*.
    public enum Mode: Sendable, Equatable {
        case server, peer, refclock
        case other(UInt16)

        init(_ raw: UInt16) {
            switch raw {
            case 0: self = .server
            case 1: self = .peer
            case 2: self = .refclock
            default: self = .other(raw)
            }
        }
    }

    /// The address field's IPv4 word. chronyd has no refid field here: for a
    /// source without an address (a refclock) it sends the refid as an IPv4
    /// address (sources.c), so this is "VMCK" = 0x564D434B for vmclockd's.
    /// 0 for an address of another family. An NTP server's IPv4 address can
    /// spell the same word: only `mode` tells a refclock.
    public var referenceID: UInt32
    public var mode: Mode
    public var state: State
    /// log2 of the polling interval, s.
    public var poll: Int16
    public var stratum: UInt16
    /// The reach register: one bit a poll, the newest lowest (8 bits used).
    public var reachability: UInt16
    /// Seconds since the latest sample; nil when there is none.
    public var sinceSampleSeconds: UInt32?
    /// The latest sample's offset as chronyd adjusted it for its own
    /// corrections since (chronyc's "xxxx"), s. chronyd's sign: a reference
    /// AHEAD of the system clock is NEGATIVE. 0 when there is no sample.
    public var latestOffsetSeconds: Double
    /// The same sample's offset as measured (chronyc's "[yyyy]"), s.
    public var originalLatestOffsetSeconds: Double
    /// Its error bound (chronyc's "+/- zzzz"), s.
    public var latestErrorSeconds: Double

    public init(
        referenceID: UInt32, mode: Mode, state: State, poll: Int16 = 0, stratum: UInt16 = 0, reachability: UInt16 = 0,
        sinceSampleSeconds: UInt32? = nil, latestOffsetSeconds: Double = 0, originalLatestOffsetSeconds: Double = 0,
        latestErrorSeconds: Double = 0
    ) {
        (self.referenceID, self.mode, self.state, self.poll, self.stratum) = (referenceID, mode, state, poll, stratum)
        (self.reachability, self.sinceSampleSeconds) = (reachability, sinceSampleSeconds)
        (self.latestOffsetSeconds, self.originalLatestOffsetSeconds) = (latestOffsetSeconds, originalLatestOffsetSeconds)
        self.latestErrorSeconds = latestErrorSeconds
    }

    /// Data length up to EOR: ip_addr (IPAddr: 16-byte address, family,
    /// padding) · poll · stratum · state · mode · flags · reachability ·
    /// since_sample · orig_latest_meas · latest_meas · latest_meas_err.
    static let dataLength = 48

    init?<Bytes: RandomAccessCollection<UInt8>>(bytes: Bytes, offset o: Int) where Bytes.Index == Int {
        guard bytes.endIndex >= o + Self.dataLength else { return nil }
        let family: UInt16 = bigEndian(bytes, o + 16)
        referenceID = family == 1 ? bigEndian(bytes, o) : 0  // IPADDR_INET4
        poll = Int16(bitPattern: bigEndian(bytes, o + 20))
        stratum = bigEndian(bytes, o + 22)
        state = State(bigEndian(bytes, o + 24))
        mode = Mode(bigEndian(bytes, o + 26))
        reachability = bigEndian(bytes, o + 30)
        let since: UInt32 = bigEndian(bytes, o + 32)
        sinceSampleSeconds = since == .max ? nil : since  // (uint32_t)-1: no sample
        originalLatestOffsetSeconds = ChronyFloat.decode(bigEndian(bytes, o + 36))
        latestOffsetSeconds = ChronyFloat.decode(bigEndian(bytes, o + 40))
        latestErrorSeconds = ChronyFloat.decode(bigEndian(bytes, o + 44))
    }

    /// Whether this is the refclock with `refid` (e.g. "VMCK").
    public func isRefclock(_ refid: String) -> Bool {
        mode == .refclock && referenceID == ControlCommand.referenceID(refid)
    }

    /// The refid as text ("VMCK").
    public var referenceIDText: String { referenceIDString(referenceID) }
}

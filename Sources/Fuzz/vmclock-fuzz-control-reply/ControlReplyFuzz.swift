#if canImport(Glibc)
import Glibc
#endif
import ChronyClients
import ChronyProtocol
import FuzzSupport

/// Fuzz target: chronyd's command replies as vmclockd takes them. A real
/// `ControlChannel` (the daemon's) sends a request over a real Unix datagram
/// socket to this harness, which plays chronyd: it checks the request, then
/// answers with datagrams built from the input and lets the channel read
/// them. Invariants: no trap; the channel accepts a datagram only if it is a
/// version-6 reply packet carrying this request's sequence number and
/// command code and a reply type chronyd answers the command with (its own
/// or RPY_NULL), and then the first such one, with its status; everything
/// else is skipped. An accepted reply carries a command's data exactly when
/// it is of that data's type and long enough for it.
///
/// Input:
///   [0]   bits 0–2: the command (burst, tracking, makestep, reset sources,
///         reselect, selectopts, n_sources, source_data); bit 3 selectopts'
///         noselect; bit 4: time out once first (the request is resent as
///         attempt 1)
///   [1..5) selectopts' refid (up to four bytes, a zero ends it), or
///         source_data's index (big-endian)
///   then datagrams, each a length byte L and L bytes, XORed onto the
///   correct reply to the request (header, sequence and command filled in,
///   status success; the data of `tracking`, `n_sources`, `source_data`): zero bytes leave the
///   reply as chronyd would send it, so the fuzzer starts from matching
///   replies and mutates identifying fields, lengths and statuses from there.
///   At most 8 datagrams (the socket's queue).
/// The raw input is also parsed as a reply on its own.
enum ControlReplyFuzz {
    static let directory: String = {
        var template = Array("/tmp/vmclock-fuzz-control.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fuzzFailure("mkdtemp: \(errno)") }
        let path = String(cString: made)
        atexit { cleanUp() }
        return path
    }()
    static var serverPath: String { "\(directory)/chronyd.sock" }
    static var clientPath: String { "\(directory)/reply.sock" }

    static func cleanUp() {
        unlink("\(directory)/chronyd.sock")
        unlink("\(directory)/reply.sock")
        rmdir(directory)
    }

    /// The harness's own "chronyd" socket, bound once.
    static let server: Int32 = {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { fuzzFailure("socket: \(errno)") }
        unlink(serverPath)
        guard withAddress(serverPath, { bind(fd, $0, $1) }) == 0 else { fuzzFailure("bind \(serverPath): \(errno)") }
        return fd
    }()

    static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    static func commandFrom(_ input: InputReader) -> ControlCommand {
        let selector = input.byte(0)
        switch selector & 7 {
        case 0: return .burst
        case 1: return .tracking
        case 2: return .makeStep
        case 3: return .resetSources
        case 4: return .reselect
        case 6: return .sourceCount
        case 7: return .sourceData(index: Int32(bitPattern: (1..<5).reduce(UInt32(0)) { $0 << 8 | UInt32(input.byte($1)) }))
        default:
            let refid = (1..<5).map { input.byte($0) }.prefix { $0 != 0 }
            return .selectOptions(refid: String(decoding: refid, as: UTF8.self), noselect: selector & 8 != 0)
        }
    }

    /// candm.h: the reply type (RPY_*) of a successful answer, and its
    /// length (header and data up to EOR; pktlength.c).
    static func replyType(_ command: ControlCommand) -> (type: UInt16, length: Int) {
        switch command {
        case .tracking: (5, 104)
        case .sourceCount: (2, 32)
        case .sourceData: (3, 76)
        default: (1, 28)
        }
    }

    /// The request the channel sent, as chronyd receives it: checked against the protocol.
    static func receiveRequest(_ command: ControlCommand, attempt: UInt16) -> (sequence: UInt32, bytes: [UInt8]) {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let n = buffer.withUnsafeMutableBytes { recv(server, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        guard n > 0 else { fuzzFailure("no request for \(command) (attempt \(attempt)): \(errno)") }
        let request = Array(buffer[..<n])
        func be(_ o: Int, _ w: Int) -> UInt64 { request[o..<o + w].reduce(0) { $0 << 8 | UInt64($1) } }
        let replyLength = replyType(command).length
        guard request.count >= 20, request.count >= replyLength, request[0] == 6, request[1] == 1,
              be(4, 2) == UInt64(command.code), be(6, 2) == UInt64(attempt)
        else { fuzzFailure("malformed request for \(command), attempt \(attempt): \(request)") }
        if case .sourceData(let index) = command, be(20, 4) != UInt64(UInt32(bitPattern: index)) {
            fuzzFailure("source_data \(index) sent as \(request)")
        }
        return (UInt32(be(8, 4)), request)
    }

    /// What chronyd would answer: RPY_NULL (1), RPY_TRACKING (5),
    /// RPY_N_SOURCES (2) or RPY_SOURCE_DATA (3) with plausible data.
    static func correctReply(_ command: ControlCommand, sequence: UInt32) -> [UInt8] {
        let type = UInt8(replyType(command).type)
        var reply: [UInt8] = [6, 2, 0, 0, UInt8(command.code >> 8), UInt8(command.code & 0xff), 0, type]
        reply += [UInt8](repeating: 0, count: 8)
        reply += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: sequence >> $0) } + [UInt8](repeating: 0, count: 8)
        if command == .tracking {
            var data = [UInt8](repeating: 0, count: 76)
            data[0..<4] = [0x56, 0x4d, 0x43, 0x4b]  // VMCK
            data[28..<40] = [0, 0, 0, 0, 0x69, 0x00, 0x00, 0x00, 0, 0, 0, 0]  // ref_time
            reply += data
        }
        if command == .sourceCount { reply += [0, 0, 0, 2] }
        if case .sourceData = command {
            // VMCK (as an IPv4 address, family 1), poll -4, selected, refclock,
            // reach 0377, 1 s ago, offsets of -5 ms, error 0.1 ms.
            reply += [0x56, 0x4d, 0x43, 0x4b] + [UInt8](repeating: 0, count: 12) + [0, 1, 0, 0]
            reply += [0xff, 0xfc, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0xff, 0, 0, 0, 1]
            reply += [0xf5, 0x5c, 0x28, 0xf6, 0xf5, 0x5c, 0x28, 0xf6, 0xe8, 0xd1, 0xb7, 0x17]
        }
        return reply
    }

    /// One channel for the whole run, as in the daemon (a new one per input
    /// would cost a bind and an unlink each time).
    nonisolated(unsafe) static let channel: ControlChannel = {
        _ = server
        return ControlChannel(serverPath: serverPath, clientPath: clientPath)
    }()

    /// The independent statement of "this request's reply": a version-6
    /// reply packet (type 2) of at least the 28-byte header, with the
    /// request's command code (bytes 4–5) and sequence (bytes 16–19), and
    /// as reply type (bytes 6–7) RPY_NULL or the command's own.
    static func isReply(_ d: [UInt8], to command: ControlCommand, sequence: UInt32) -> Bool {
        func be(_ o: Int, _ w: Int) -> UInt64 { d[o..<o + w].reduce(0) { $0 << 8 | UInt64($1) } }
        return d.count >= 28 && d[0] == 6 && d[1] == 2 && be(16, 4) == UInt64(sequence) && be(4, 2) == UInt64(command.code)
            && (be(6, 2) == 1 || be(6, 2) == UInt64(replyType(command).type))
    }

    static func sendReply(_ datagram: [UInt8]) {
        let sent = withAddress(clientPath) { address, length in
            datagram.withUnsafeBytes { sendto(server, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT), address, length) }
        }
        guard sent == datagram.count else { fuzzFailure("sendto the reply socket: \(errno)") }
    }

    static func check(_ bytes: UnsafeRawBufferPointer) {
        let input = InputReader(bytes)
        let raw = Array(bytes)
        if let reply = ControlReply(bytes: raw) {  // the parser alone, on anything
            _ = reply.status.description
            _ = reply.tracking?.referenceIDText
            _ = reply.source?.referenceIDText
            _ = reply.source?.state.symbol
        }

        let command = commandFrom(input)
        if !channel.isIdle { fuzzFailure("pending from the last input") }
        if let outcome = channel.start(command, now: 0) { fuzzFailure("start failed: \(outcome)") }
        var (sequence, first) = receiveRequest(command, attempt: 0)
        if input.byte(0) & 0x10 != 0 {
            guard let deadline = channel.deadline else { fuzzFailure("no deadline while pending") }
            if channel.timeUp(now: deadline - 1) != nil { fuzzFailure("gave up before the deadline") }
            if let outcome = channel.timeUp(now: deadline) { fuzzFailure("gave up after one attempt of 3: \(outcome)") }
            let (resent, bytes) = receiveRequest(command, attempt: 1)
            var expected = first
            expected[6...7] = [0, 1]
            guard resent == sequence, bytes == expected else { fuzzFailure("the resend differs beyond its attempt: \(first) → \(bytes)") }
            (sequence, first) = (resent, bytes)
        }

        // The datagrams up to the first that must be taken (none follow it:
        // the channel stops reading there, and the next input must start
        // from an empty socket).
        let template = correctReply(command, sequence: sequence)
        var datagrams: [[UInt8]] = []
        var expected: [UInt8]?
        var offset = 5
        while offset < raw.count, datagrams.count < 8, expected == nil {
            let length = Int(raw[offset])
            let body = raw[(offset + 1)..<min(offset + 1 + length, raw.count)]
            offset += 1 + length
            var datagram = [UInt8](repeating: 0, count: body.count)
            for (i, b) in body.enumerated() { datagram[i] = b ^ (i < template.count ? template[i] : 0) }
            datagrams.append(datagram)
            if isReply(datagram, to: command, sequence: sequence) { expected = datagram }
        }
        for datagram in datagrams { sendReply(datagram) }

        let outcome = channel.readable()
        guard let expected else {
            if let outcome { fuzzFailure("accepted a reply that is not this request's (\(command), sequence \(sequence)): \(outcome); sent \(datagrams)") }
            if channel.isIdle || channel.pendingCommand != command { fuzzFailure("the request was dropped without a reply") }
            // End it as chronyd would, keeping the channel for the next input.
            sendReply(template)
            guard case .replied(command, _) = channel.readable() else { fuzzFailure("the correct reply \(template) was not taken") }
            return
        }
        guard let outcome else { fuzzFailure("skipped the matching reply \(expected) to \(command), sequence \(sequence)") }
        let status = UInt16(expected[8]) << 8 | UInt16(expected[9])
        let reply: ControlReply
        switch outcome {
        case .replied(let c, let r):
            guard c == command, status == 0, r.status == .success else { fuzzFailure("replied \(outcome) for status \(status)") }
            reply = r
        case .failed(let c, .refused(let rc, let s)):
            guard c == command, rc == command, status != 0, s != .success else { fuzzFailure("failed \(outcome) for status \(status)") }
            guard let parsed = ControlReply(bytes: expected), parsed.status == s else { fuzzFailure("status \(s) is not the reply's \(status)") }
            return
        case .failed:
            fuzzFailure("a failure other than a refusal from a reply: \(outcome)")
        }
        guard reply.sequence == sequence, reply.command == command.code, reply == ControlReply(bytes: expected) else {
            fuzzFailure("the accepted reply \(reply) is not the datagram \(expected)")
        }
        if !channel.isIdle { fuzzFailure("still pending after its reply") }
        if let tracking = reply.tracking {
            guard reply.reply == 5, expected.count >= 104 else { fuzzFailure("tracking data from a \(expected.count)-byte reply \(reply.reply)") }
            _ = tracking.referenceIDText
        } else if reply.reply == 5, expected.count >= 104 {
            fuzzFailure("a full tracking reply without tracking data")
        }
        if (reply.sourceCount != nil) != (reply.reply == 2 && expected.count >= 32) {
            fuzzFailure("n_sources \(String(describing: reply.sourceCount)) from a \(expected.count)-byte reply \(reply.reply)")
        }
        if let source = reply.source {
            guard reply.reply == 3, expected.count >= 76 else { fuzzFailure("source data from a \(expected.count)-byte reply \(reply.reply)") }
            _ = source.isRefclock("VMCK")
            _ = source.state.symbol
        } else if reply.reply == 3, expected.count >= 76 {
            fuzzFailure("a full source data reply without source data")
        }
        // chronyd's own answer reads as what it says.
        if expected == template, case .sourceData = command {
            guard let source = reply.source, source.isRefclock("VMCK"), source.state == .selected, source.poll == -4,
                  source.reachability == 0o377, source.sinceSampleSeconds == 1, abs(source.latestOffsetSeconds + 0.005) < 1e-9,
                  abs(source.latestErrorSeconds - 1e-4) < 1e-9
            else { fuzzFailure("the correct source data reply reads as \(String(describing: reply.source))") }
        }
        if expected == template, command == .sourceCount, reply.sourceCount != 2 { fuzzFailure("n_sources \(String(describing: reply.sourceCount))") }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func controlReplyFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    ControlReplyFuzz.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

@main enum ControlReplyFuzzMain {
    static func main() { FuzzMain.run(controlReplyFuzzTestOneInput) }
}

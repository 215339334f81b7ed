#if canImport(Glibc)
import Glibc
#endif

/// Lines from a descriptor (a pipe), read with a deadline.
final class LineReader {
    private let descriptor: Int32
    private var buffer: [UInt8] = []

    init(descriptor: Int32) { self.descriptor = descriptor }

    func next(within seconds: Double) throws -> String {
        let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            try checkInterruption()
            let remaining = deadline - monotonicNanoseconds()
            guard remaining > 0 else { throw BenchError("timed out waiting for a line") }
            var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(min(remaining / 1_000_000 + 1, 50))) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = read(descriptor, &chunk, chunk.count)
            guard count > 0 else { throw BenchError("end of output") }
            buffer += chunk[..<count]
        }
    }
}

/// `vmclock-sim PAGE settings…`: commands on its standard input, each
/// acknowledged on its standard output once published.
final class Simulator {
    let child: Child
    let page: String
    private var input: Int32
    private let output: Int32
    private let lines: LineReader
    private(set) var readyFields: [String: String] = [:]

    init(binary: String, page: String, settings: [String], stderr: String) throws {
        self.page = page
        let (inRead, inWrite) = try makePipe()
        let (outRead, outWrite) = try makePipe()
        defer {
            close(inRead)
            close(outWrite)
        }
        input = inWrite
        output = outRead
        lines = LineReader(descriptor: outRead)
        child = try Child(
            name: "vmclock-sim", arguments: [binary, page] + settings,
            stdin: .descriptor(inRead), stdout: .descriptor(outWrite), stderr: .file(stderr))
        let ready = try lines.next(within: 10)
        guard ready.hasPrefix("ready ") else { throw BenchError("vmclock-sim said: \(ready)") }
        readyFields = Self.fields(ready)
    }

    /// Sends one command; returns its acknowledgement's key=value fields.
    @discardableResult
    func send(_ command: String) throws -> [String: String] {
        let bytes = Array((command + "\n").utf8)
        guard write(input, bytes, bytes.count) == bytes.count else { throw BenchError("cannot write to vmclock-sim") }
        let reply = try lines.next(within: 5)
        guard reply.hasPrefix("ok ") else { throw BenchError("vmclock-sim answered '\(command)' with: \(reply)") }
        return Self.fields(reply)
    }

    static func fields(_ line: String) -> [String: String] {
        var result: [String: String] = [:]
        for word in line.split(separator: " ") {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }

    /// Closes its input (it exits at end of input); by its pid if it lingers.
    func stop() {
        if input >= 0 {
            close(input)
            input = -1
        }
        if !child.waitForExit(seconds: 5) { child.stop(signal: SIGKILL) }
        close(output)
    }
}

/// A private chronyd: `chronyd -x -d -f CONF` (never touches the system
/// clock, logs to stderr), its refclock socket, command socket and pidfile
/// in `directory`, `port 0` and `cmdport 0` (no network), stopped by its pid.
final class Chronyd {
    static let binary = "/usr/sbin/chronyd"
    let directory: String
    let refclockPath: String
    let commandPath: String
    let pidfilePath: String
    let logPath: String
    let child: Child

    /// `refclockLine` is what `vmclockd chrony-config` prints for the
    /// daemon's options. `root`: a Debian root to run chronyd from (chroot),
    /// with `directory` bind-mounted at the same path inside it, so chronyd
    /// replies to the paths its clients see.
    let root: String?

    init(directory: String, refclockLine: String, root: String? = nil) throws {
        self.directory = directory
        self.root = root
        refclockPath = "\(directory)/vmclock.sock"
        commandPath = "\(directory)/cmd/chronyd.sock"
        pidfilePath = "\(directory)/chronyd.pid"
        logPath = "\(directory)/chronyd.log"
        let config = [
            refclockLine,
            "bindcmdaddress \(commandPath)",
            "cmdport 0",
            "port 0",
            "pidfile \(pidfilePath)",
        ].joined(separator: "\n") + "\n"
        try writeFile("\(directory)/chronyd.conf", config)
        // Left by a crashed chronyd they would look like a ready one, or block it.
        unlink(commandPath)
        unlink(pidfilePath)
        var arguments = [Self.binary, "-x", "-d", "-f", "\(directory)/chronyd.conf"]
        if let root {
            guard system("mkdir -p '\(root)\(directory)' && mount --bind '\(directory)' '\(root)\(directory)'") == 0 else {
                throw BenchError("cannot bind-mount \(directory) into \(root)")
            }
            arguments = ["/usr/sbin/chroot", root] + arguments
        }
        child = try Child(name: "chronyd", arguments: arguments, stdout: .file(logPath), stderr: .file(logPath))
        let deadline = monotonicNanoseconds() + 10_000_000_000
        // chronyd binds the refclock socket as root, then the command socket
        // after dropping privileges: the command socket means both are there.
        while !(fileExists(refclockPath) && fileExists(commandPath)) {
            try checkInterruption()
            if child.hasExited || monotonicNanoseconds() > deadline {
                stop()
                throw BenchError("chronyd did not start (\(child.exitDescription)); its log:\n\(readFile(logPath) ?? "")")
            }
            usleep(10_000)
        }
    }

    /// SIGTERM by pid, SIGKILL after 5 s; then its pidfile, which chronyd
    /// (by then running as _chrony) cannot remove itself.
    func stop() {
        child.stop()
        unlink(pidfilePath)
        if let root { _ = system("umount '\(root)\(directory)' 2>/dev/null") }
    }
}

/// The benchmark's own SOCK refclock socket: it records every datagram the
/// daemon sends, as chronyd's refclock_sock.c would read it.
final class Recorder {
    /// One datagram, decoded as chrony's struct sock_sample (x86-64/arm64
    /// Linux): struct timeval tv (tv_sec 8, tv_usec 8) · double offset ·
    /// int pulse · int leap · int _pad · int magic = 40 bytes.
    struct Datagram {
        var length: Int
        var seconds: Int64
        var microseconds: Int64
        var offset: Double
        var pulse: Int32
        var leap: Int32
        var pad: Int32
        var magic: Int32
        /// CLOCK_REALTIME when the benchmark took it off the socket.
        var receivedNanoseconds: Int64
        /// CLOCK_REALTIME when the kernel queued it on our socket
        /// (SO_TIMESTAMPNS): the daemon's sendto(), without our wake-up.
        var queuedNanoseconds: Int64?

        static let magicValue: Int32 = 0x534f_434b
        var isWellFormed: Bool { length == 40 && magic == Self.magicValue && pulse == 0 && pad == 0 }
        /// tv as ns since the epoch.
        var systemNanoseconds: Int64 { seconds * 1_000_000_000 + microseconds * 1000 }
    }

    let path: String
    private let descriptor: Int32

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError("socket: \(String(cString: strerror(errno)))") }
        var size: Int32 = 4 << 20
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var on: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, Self.timestampOption, &on, socklen_t(MemoryLayout<Int32>.size))
        unlink(path)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw BenchError("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw BenchError("bind \(path): \(String(cString: strerror(errno)))") }
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// SO_TIMESTAMPNS (= SCM_TIMESTAMPNS) with a 64-bit time_t: 35 on
    /// x86-64 and arm64 (glibc defines it through a macro Swift cannot import).
    static let timestampOption: Int32 = 35

    /// Every datagram that arrives within `milliseconds` (at least one wait).
    func receive(waitingUpTo milliseconds: Int32) -> [Datagram] {
        var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, milliseconds) > 0 else { return [] }
        var result: [Datagram] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        var control = [UInt8](repeating: 0, count: 128)
        while true {
            var queued: Int64?
            let count = buffer.withUnsafeMutableBytes { data in
                control.withUnsafeMutableBytes { controlBytes in
                    var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var message = msghdr()
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBytes.baseAddress
                        message.msg_controllen = controlBytes.count
                        let n = recvmsg(descriptor, &message, Int32(MSG_TRUNC))
                        // struct cmsghdr { size_t len; int level; int type; } then the data, 8-aligned.
                        var offset = 0
                        while n >= 0, offset + 16 <= message.msg_controllen {
                            let length = controlBytes.loadUnaligned(fromByteOffset: offset, as: Int.self)
                            let level = controlBytes.loadUnaligned(fromByteOffset: offset + 8, as: Int32.self)
                            let type = controlBytes.loadUnaligned(fromByteOffset: offset + 12, as: Int32.self)
                            guard length >= 16 else { break }
                            if level == SOL_SOCKET, type == Self.timestampOption, length >= 32 {
                                let seconds = controlBytes.loadUnaligned(fromByteOffset: offset + 16, as: Int64.self)
                                let nanoseconds = controlBytes.loadUnaligned(fromByteOffset: offset + 24, as: Int64.self)
                                queued = seconds * 1_000_000_000 + nanoseconds
                            }
                            offset += (length + 7) & ~7
                        }
                        return n
                    }
                }
            }
            if count < 0 { break }
            let received = realtimeNanoseconds()
            var datagram = Datagram(
                length: count, seconds: 0, microseconds: 0, offset: .nan, pulse: -1, leap: -1, pad: -1, magic: 0,
                receivedNanoseconds: received, queuedNanoseconds: queued)
            if count >= 40 {
                buffer.withUnsafeBytes { b in
                    datagram.seconds = b.loadUnaligned(fromByteOffset: 0, as: Int64.self)
                    datagram.microseconds = b.loadUnaligned(fromByteOffset: 8, as: Int64.self)
                    datagram.offset = b.loadUnaligned(fromByteOffset: 16, as: Double.self)
                    datagram.pulse = b.loadUnaligned(fromByteOffset: 24, as: Int32.self)
                    datagram.leap = b.loadUnaligned(fromByteOffset: 28, as: Int32.self)
                    datagram.pad = b.loadUnaligned(fromByteOffset: 32, as: Int32.self)
                    datagram.magic = b.loadUnaligned(fromByteOffset: 36, as: Int32.self)
                }
            }
            result.append(datagram)
        }
        return result
    }
}

/// New complete lines of a growing log file (the daemon's standard error).
final class LogTail {
    let path: String
    private var offset: off_t = 0
    private var partial: [UInt8] = []

    init(path: String) { self.path = path }

    func newLines() -> [String] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 65536)
        var lines: [String] = []
        while true {
            let count = pread(fd, &chunk, chunk.count, offset)
            if count <= 0 { break }
            offset += off_t(count)
            partial += chunk[..<count]
        }
        while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(String(decoding: partial[..<newline], as: UTF8.self))
            partial.removeSubrange(...newline)
        }
        return lines
    }
}

/// A log line's leading stamp, "2026-11-25T09:10:51.123456Z" (UTC, µs), as
/// ns since the epoch.
func logStamp(_ line: String) -> Int64? {
    let text = Array(line.utf8.prefix(27))
    guard text.count == 27, text[4] == UInt8(ascii: "-"), text[10] == UInt8(ascii: "T"), text[19] == UInt8(ascii: "."),
        text[26] == UInt8(ascii: "Z")
    else { return nil }
    func number(_ range: Range<Int>) -> Int64? {
        var value: Int64 = 0
        for byte in text[range] {
            guard byte >= 48, byte <= 57 else { return nil }
            value = value * 10 + Int64(byte - 48)
        }
        return value
    }
    guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
        let minute = number(14..<16), let second = number(17..<19), let micro = number(20..<26)
    else { return nil }
    // Days from civil (Howard Hinnant's algorithm).
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146_097 + doe - 719_468
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second
    return seconds * 1_000_000_000 + micro * 1000
}

#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import VMClockAccess

/// vmclock-sim's main loop, on one thread: re-anchor the page every update
/// interval (continuously in pattern mode) and apply commands from `input`
/// between updates, acknowledging each once it is published.
public final class SimulatorLoop {
    private var host: SimulatedHost
    private var writer: PageWriter?
    private let path: String
    private let output: (String) -> Void
    private var pending = LineBuffer()

    public init(path: String, host: SimulatedHost, output: @escaping (String) -> Void) throws {
        self.path = path
        self.host = host
        self.output = output
        writer = try PageWriter(path: path)
    }

    /// Runs until `quit` or end of input.
    public func run(input: FileDescriptor = .standardInput) {
        publish()
        output("ready page=\(path) \(state)")
        var nextUpdate = SystemClock.monotonicNanoseconds()
        while true {
            let now = SystemClock.monotonicNanoseconds()
            if now >= nextUpdate {
                publish()
                nextUpdate = max(nextUpdate + intervalNanoseconds, now)
            }
            let wait = max(nextUpdate - SystemClock.monotonicNanoseconds(), 0)
            guard let lines = readLines(input, waitNanoseconds: wait) else { return }
            for line in lines where !line.allSatisfy(\.isWhitespace) {
                guard handle(line) else { return }
            }
        }
    }

    /// 0 in pattern mode means "rewrite continuously".
    private var intervalNanoseconds: Int64 { host.settings.updateIntervalNanoseconds }

    /// CLOCK_REALTIME (ns) just after the last publication: when a reader
    /// could first have seen it.
    private var publishedNanoseconds: Int64 = 0

    private var state: String {
        "seq=\(writer?.seqCount ?? 0) marker=\(host.disruptionMarker) generation=\(host.vmGenerationCounter) offset_ns=\(host.settings.offsetNanoseconds) published_ns=\(publishedNanoseconds)"
    }

    private func publish() {
        guard let writer else { return }
        writer.writeDelayMicroseconds = host.settings.writeDelayMicroseconds
        writer.keepsSeqCount = host.settings.keepsSeqCount
        writer.publish(host.image())
        publishedNanoseconds = SystemClock.realtime().nanosecondsSinceEpoch ?? 0
    }

    /// Applies one command; false to stop.
    private func handle(_ line: String) -> Bool {
        do {
            let command = try SimulatorCommand(line: line)
            if command == .quit { return false }
            try apply(command)
            publish()
            output("ok \(state)")
        } catch {
            output("error: \(error)")
        }
        return true
    }

    private func apply(_ command: SimulatorCommand) throws {
        switch command {
        case .set(let assignments): try host.settings.apply(assignments)
        case .disrupt(let step, let ppm): host.disrupt(stepNanoseconds: step, periodErrorPPM: ppm)
        case .restore(let step): host.restoreSnapshot(stepNanoseconds: step)
        case .step(let step): host.step(nanoseconds: step)
        case .marker(let value): host.setRaw(marker: value)
        case .generation(let value): host.setRaw(generation: value)
        case .stall: writer?.stall()
        case .unstall: writer?.unstall()
        case .remove:
            writer?.unlink()
            writer = nil
        case .recreate: writer = try PageWriter(path: path)
        case .sync, .quit: break
        }
    }

    /// Waits up to `waitNanoseconds` for input; nil at end of input.
    private func readLines(_ input: FileDescriptor, waitNanoseconds: Int64) -> [String]? {
        var descriptor = pollfd(fd: input.rawValue, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(clamping: (waitNanoseconds + 999_999) / 1_000_000)
        guard poll(&descriptor, 1, milliseconds) > 0 else { return [] }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { (try? input.read(into: $0)) ?? 0 }
        guard count > 0 else { return nil }
        return pending.append(chunk[..<count])
    }
}

/// Splits a byte stream into lines.
struct LineBuffer {
    private var bytes: [UInt8] = []

    mutating func append(_ chunk: ArraySlice<UInt8>) -> [String] {
        bytes.append(contentsOf: chunk)
        var lines: [String] = []
        while let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(String(decoding: bytes[..<newline], as: UTF8.self))
            bytes.removeSubrange(...newline)
        }
        return lines
    }
}

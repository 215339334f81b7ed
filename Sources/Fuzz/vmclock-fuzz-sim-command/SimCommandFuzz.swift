import FuzzSupport
import VMClockAccess
import VMClockPage
import VMClockSimulation

/// Fuzz target: vmclock-sim's command input. Each input is split into lines
/// as the simulator splits its standard input; each line is parsed
/// (`SimulatorCommand(line:)`), and what parses is applied as the simulator
/// applies it: `set` to the settings (`SimulationSettings.apply`), the rest
/// to the host; then the page the host would publish is built, encoded and
/// decoded again. Invariants: no trap, and every error is printable.
/// (Files and the writer — stall, remove, recreate — are left out: no I/O.)
enum SimCommandFuzz {
    /// One host, calibrated once (50 ms): each input starts from a copy.
    nonisolated(unsafe) static let host = SimulatedHost(settings: SimulationSettings())

    /// What the simulator publishes after the commands: the page, encoded and decoded again.
    static func publish(_ host: inout SimulatedHost) {
        // The loop's next update: monotonic now + the interval.
        _ = SystemClock.monotonicNanoseconds() + host.settings.updateIntervalNanoseconds
        let image = host.image()
        let encoded = image.encode()
        if encoded.count != PageLayout.structureSize { fuzzFailure("encoded \(encoded.count) bytes") }
        var mapped = [UInt8](repeating: 0, count: PageLayout.pageSize)
        mapped.replaceSubrange(0..<encoded.count, with: encoded)
        mapped.withUnsafeBytes { page in
            do throws(PageError) {
                let decoded = try VMClockPage(bytes: page)
                _ = PageAssessment(page: decoded, nativeCounter: .x86TSC).reason
            } catch {
                _ = error.description
            }
        }
    }

    static func check(_ bytes: UnsafeRawBufferPointer) {
        var host = Self.host
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let text = String(decoding: line, as: UTF8.self)
            guard !text.allSatisfy(\.isWhitespace) else { continue }
            let command: SimulatorCommand
            do throws(CommandError) {
                command = try SimulatorCommand(line: text)
            } catch {
                _ = error.description
                continue
            }
            switch command {
            case .set(let assignments):
                // As the simulator does: in place, so the assignments before a bad one stay.
                do throws(SettingError) { try host.settings.apply(assignments) } catch { _ = error.description }
            case .disrupt(let step, let ppm): host.disrupt(stepNanoseconds: step, periodErrorPPM: ppm)
            case .restore(let step): host.restoreSnapshot(stepNanoseconds: step)
            case .step(let step): host.step(nanoseconds: step)
            case .marker(let value): host.setRaw(marker: value)
            case .generation(let value): host.setRaw(generation: value)
            case .stall, .unstall, .remove, .recreate, .sync, .quit: break
            }
            if command == .quit { break }
        }
        publish(&host)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func simCommandFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    SimCommandFuzz.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

@main enum SimCommandFuzzMain {
    static func main() { FuzzMain.run(simCommandFuzzTestOneInput) }
}

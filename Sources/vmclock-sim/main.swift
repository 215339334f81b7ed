import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import VMClockSimulation

/// A simulated vmclock device: a page file kept current from the real CPU
/// counter and CLOCK_REALTIME, so that a reader sees vmclock time = system
/// time + the chosen offset. Driven by commands on standard input.
struct VMClockSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmclock-sim",
        abstract: "Simulate a vmclock device: write a live vmclock page to a file.",
        discussion: """
            The page is rewritten under the seqlock protocol every update_interval_ms from the \
            real CPU counter and CLOCK_REALTIME. Point any reader at it: vmclockd status --device PATH.

            settings (key=value, on the command line or after `set`):
            \(SimulationSettings.keys.map { "  \($0.key + String(repeating: " ", count: max(1, 24 - $0.key.count)))\($0.help)" }.joined(separator: "\n"))

            \(SimulatorCommand.usage)

            The simulator prints "ready page=… seq=… marker=… generation=… offset_ns=…" once the first \
            page is published, and exits at end of standard input or on SIGTERM.
            """)

    @Argument(help: "Path of the page file to create (replaced atomically).")
    var page: String

    @Argument(help: "Initial settings, key=value (see below).")
    var settings: [String] = []

    func run() throws {
        var initial = SimulationSettings()
        try initial.apply(settings)
        let loop = try SimulatorLoop(path: page, host: SimulatedHost(settings: initial)) { line in
            // Unbuffered, one write per line: a test waits for each acknowledgement.
            _ = try? FileDescriptor.standardOutput.writeAll((line + "\n").utf8)
        }
        loop.run()
    }
}

VMClockSim.main()

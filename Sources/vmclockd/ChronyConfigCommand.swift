#if canImport(Glibc)
import Glibc
#endif
import VMClockAccess
import DaemonCore
import VMClockPage
import VMClockSystem

struct ChronyConfigCommand: Command {
    static let name = "chrony-config"
    static let abstract = "Print (or write) the chrony.conf refclock line that matches these settings."
    static let discussion = """
        The settings are run's: /etc/vmclockd.conf (see --config), then the options given. \
        With --write the line goes into a file (replaced atomically, mode 0644) instead, which the \
        package does before every chronyd start. With --from-page, the promise (precision, and the \
        --max-error to run with) is proposed from the live page: the largest bound it justifies over \
        2 s of looks, page and read, times \(ProposedPromise.margin), rounded up to two significant digits.
        """

    var daemon = DaemonOptions()
    var fromPage = false
    var writePath: String?

    static var options: [Option<ChronyConfigCommand>] { DaemonOptions.options.map { .lifted($0, at: \.daemon) } + [
        configOption,
        Option(flag: "from-page", help: "Propose the promise from the page at --device instead of --max-error.") { $0.fromPage = true },
        Option("write", value: "path", help: "Write the line, with a comment saying where it came from, to this file instead of printing it.") {
            (command: inout ChronyConfigCommand, value: String) throws(UsageError) in command.writePath = try OptionValue.path(value)
        },
    ] }

    static let readsConfigFile = true

    /// Where the settings came from, for the written file's comment.
    var source = "the built-in defaults"

    mutating func validate(_ settings: Settings) throws(UsageError) {
        try daemon.validate(settings)
        source = settings.sources
        guard !(fromPage && writePath != nil) else {
            // A proposal is for the operator to adopt in the settings; a file
            // chronyd reads must say what the daemon will enforce.
            throw UsageError("--from-page proposes a promise; it cannot be written: set max-error in /etc/vmclockd.conf instead")
        }
    }

    func run() -> Int32 {
        var configuration = daemon.resolved
        if fromPage {
            do {
                let proposal = try ProposedPromise.observe(configuration)
                configuration.maxError = proposal.promiseSeconds
                print("# the page at \(configuration.devicePath) justifies at most \(proposal.observedNanoseconds) ns over \(ProposedPromise.looks) looks;"
                      + " promise \(ProposedPromise.margin)× that, rounded up: run vmclockd with --max-error \(configuration.maxError)")
            } catch {
                CommandLineText.printError("Error: \(error)")
                return 1
            }
        }
        guard let writePath else {
            print(configuration.chronyRefclockLine)
            return 0
        }
        do throws(AtomicFile.Failure) {
            try ChronySnippet.write(ChronySnippet.text(line: configuration.chronyRefclockLine, source: source), to: writePath)
        } catch {
            CommandLineText.printError("Error: \(error)")
            return 1
        }
        return 0
    }
}

/// The largest bound the page justifies over a few looks, with a margin:
/// chronyd's dispersion for VMCK (`precision`) then stays within 2× of what
/// the page justifies, instead of the 1 ms default's 100×, while the page's
/// bound may still grow between the host's updates before samples are held.
enum ProposedPromise {
    static let margin = 1.5
    static let looks = 20

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func observe(_ configuration: DaemonConfiguration) throws -> (observedNanoseconds: UInt64, promiseSeconds: Double) {
        var allowing = configuration
        allowing.maxError = 1  // judge the bound itself, not against a promise
        let device: VMClockDevice
        do { device = try VMClockDevice(path: configuration.devicePath) } catch { throw Failure(description: "\(error)") }
        var largest: UInt64 = 0
        for look in 0..<looks {
            if look > 0 { usleepSeconds(2.0 / Double(looks)) }
            let (page, bracket): (VMClockPage, CounterBracket)
            let clock: ClockData
            do {
                (page, bracket) = try device.readWithSystemClock()
                clock = try page.clockData(nativeCounter: Counter.native, taiPolicy: configuration.taiPolicy)
            } catch { throw Failure(description: "no usable clock data: \(error)") }
            switch SampleBuilder.build(clock: clock, bracket: bracket, configuration: allowing) {
            case .success(let built): largest = max(largest, built.boundNanoseconds)
            case .failure(let why): throw Failure(description: "the page gives no bound to propose from: \(why)")
            }
        }
        return (largest, roundUpTwoDigits(Double(largest) * margin * 1e-9))
    }

    /// 1.234e-5 → 1.3e-5: never below the value.
    static func roundUpTwoDigits(_ value: Double) -> Double {
        guard value > 0 else { return 1e-9 }
        var scale = 1.0
        while value * scale < 10 { scale *= 10 }
        while value * scale >= 100 { scale /= 10 }
        return (value * scale).rounded(.up) / scale
    }

    private static func usleepSeconds(_ seconds: Double) {
        var request = timespec(tv_sec: 0, tv_nsec: Int(seconds * 1e9))
        nanosleep(&request, nil)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import VMClockAccess
import VMClockDaemon
import VMClockPage

struct ChronyConfigCommand: Command {
    static let name = "chrony-config"
    static let readsConfigFile = true
    static let abstract = "Print the chrony.conf refclock line that matches these options."
    static let discussion = """
        With --from-page, the promise (precision, and the --max-error to run with) is proposed from \
        the live page: the largest bound it justifies over 2 s of looks, page and read, times \
        \(ProposedPromise.margin), rounded up to two significant digits.
        """

    var daemon = DaemonOptions()
    var fromPage = false
    var writePath: String?

    static var options: [Option<ChronyConfigCommand>] { [configOption] + DaemonOptions.options.map { .lifted($0, at: \.daemon) } + [
        Option(flag: "from-page", help: "Propose the promise from the page at --device instead of --max-error.") { $0.fromPage = true },
        Option("write", value: "path", help: "Write chronyd's snippet there (replaced atomically, mode 0644) instead of printing the line.") {
            $0.writePath = $1
        },
    ] }

    func validate() throws(UsageError) { try daemon.validate() }

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
        let snippet = """
            # chronyd's side of vmclockd: the vmclock page as a reference clock.
            # Written by `vmclockd chrony-config --write` from /etc/vmclockd.conf:
            # change that file, not this one (it is written again before chronyd starts).
            \(configuration.chronyRefclockLine)

            """
        if let error = AtomicFile.replace(writePath, with: snippet, mode: 0o644, sync: true) {
            CommandLineText.printError("Error: cannot write \(writePath): \(String(cString: strerror(error)))")
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

#if canImport(Glibc)
import Glibc
#endif

import Logging
import VMClockDaemon
import VMClockService

struct RunCommand: Command {
    static let name = "run"
    static let readsConfigFile = true
    static let abstract = "Feed chronyd from the vmclock page; on a disruption, drop calibration, reset chronyd and hold."
    static let discussion = """
        Configure chronyd with the line `vmclockd chrony-config` prints (same options). \
        exit status: 0 stopped by SIGTERM or SIGINT; 1 could not start; 64 bad arguments; \
        75 the directory of chronyd's sockets was deleted while vmclockd could still see it (a \
        sandbox's bind mount: only a new process sees chronyd's new one; the unit starts one with chronyd). \
        SIGHUP reopens the device.
        """

    /// EX_TEMPFAIL: the unit counts it as a clean stop and starts vmclockd again with chronyd.
    static let socketDirectoryDeletedStatus: Int32 = 75

    var daemon = DaemonOptions()
    var logLevel = Logger.Level.info

    static var options: [Option<RunCommand>] { [configOption] + DaemonOptions.options.map { .lifted($0, at: \.daemon) } + [
        Option("log-level", value: "level", help: "trace, debug, info, notice, warning, error or critical.",
               default: "info") { (command: inout RunCommand, value: String) throws(UsageError) in
            command.logLevel = try OptionValue.choice(value, Logger.Level.allCases.map { ($0.rawValue, $0) })
        },
    ] }

    func validate() throws(UsageError) { try daemon.validate() }

    func run() -> Int32 {
        let level = logLevel
        let journal = JournalLogHandler.standardErrorIsJournal
        LoggingSystem.bootstrap { _ in
            var handler: any LogHandler = journal ? JournalLogHandler() : PlainTextLogHandler()
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "vmclockd")
        let configuration = daemon.resolved
        let runner: DaemonRunner
        do {
            runner = try DaemonRunner(configuration: configuration, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            return 1
        }
        let supervisor = ServiceSupervisor.isSupervised ? ServiceSupervisor() : nil
        supervisor?.attach(to: runner)
        logger.notice("started: device \(configuration.devicePath), samples every \(configuration.sampleInterval) s to \(configuration.refclockSocketPath), promise \(configuration.maxError) s; chronyd needs: \(configuration.chronyRefclockLine)")
        let stop = runner.run()
        supervisor?.stopping()
        switch stop {
        case .signal: return 0
        case .socketDirectoryDeleted: return Self.socketDirectoryDeletedStatus
        }
    }
}

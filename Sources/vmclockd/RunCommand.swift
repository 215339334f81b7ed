import Logging
import DaemonLoop
import VMClockService

struct RunCommand: Command {
    static let name = "run"
    static let abstract = "Feed chronyd from the vmclock page; on a disruption, drop calibration, reset chronyd and hold."
    static let discussion = """
        Settings come from /etc/vmclockd.conf (see --config, --print-config), then the command line. \
        Configure chronyd with the line `vmclockd chrony-config` prints (same file and options). \
        exit status: 0 stopped by SIGTERM or SIGINT; 1 could not start; 64 bad arguments or configuration; \
        75 the directory of chronyd's sockets was deleted while vmclockd could still see it (a \
        sandbox's bind mount: only a new process sees chronyd's new one; the unit starts one with chronyd). \
        SIGHUP reopens the device.
        """

    /// EX_TEMPFAIL: the unit counts it as a clean stop and starts vmclockd again with chronyd.
    static let socketDirectoryDeletedStatus: Int32 = 75

    var daemon = DaemonOptions()
    /// The chrony config file the package generates: if it has a refclock
    /// line, it must be ours (chronyd was restarted after the settings changed).
    var chronySnippet: String?

    static var options: [Option<RunCommand>] {
        DaemonOptions.options.map { .lifted($0, at: \.daemon) } + [
            configOption, ConfigFile.printOption(),
            Option("check-chrony-snippet", value: "path",
                   help: "Refuse to start if this chrony config file has a refclock line other than the one these settings give (chronyd not restarted after a change).") {
                (command: inout RunCommand, value: String) throws(UsageError) in command.chronySnippet = try OptionValue.path(value)
            },
        ]
    }

    static let readsConfigFile = true

    func validate(_ settings: Settings) throws(UsageError) {
        try daemon.validate(settings)
        if let chronySnippet { try ChronySnippet.check(chronySnippet, against: daemon.resolved.chronyRefclockLine) }
    }

    func run() -> Int32 {
        let level = daemon.logLevel
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

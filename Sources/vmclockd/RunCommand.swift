import ArgumentParser
import Logging
import VMClockDaemon
import VMClockService

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Feed chronyd from the vmclock page; on a disruption, drop calibration, reset chronyd and hold.",
        discussion: """
            Configure chronyd with the line `vmclockd chrony-config` prints (same options).

            exit status: 0 stopped by SIGTERM or SIGINT; 1 could not start; 64 bad arguments. \
            SIGHUP reopens the device.
            """)

    @OptionGroup var options: DaemonOptions

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    func run() throws {
        let level = logLevel
        let journal = JournalLogHandler.standardErrorIsJournal
        LoggingSystem.bootstrap { _ in
            var handler: any LogHandler = journal ? JournalLogHandler() : PlainTextLogHandler()
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "vmclockd")
        let configuration = options.configuration
        let runner: DaemonRunner
        do {
            runner = try DaemonRunner(configuration: configuration, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        let supervisor = ServiceSupervisor.isSupervised ? ServiceSupervisor() : nil
        supervisor?.attach(to: runner)
        logger.notice("started: device \(configuration.devicePath), samples every \(configuration.sampleInterval) s to \(configuration.refclockSocketPath), promise \(configuration.maxError) s; chronyd needs: \(configuration.chronyRefclockLine)")
        _ = runner.run()
        supervisor?.stopping()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}


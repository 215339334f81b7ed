import ChronyClients
import Dispatch
import Synchronization

/// Talks to chronyd's command socket off the main loop, so a slow or absent
/// chronyd never delays watching the page. Jobs run in order; outcomes are
/// collected for the loop to log and act on.
final class ChronyControlWorker: Sendable {
    enum Outcome: Sendable {
        case replied(ControlCommand, ControlReply)
        case failed(ControlCommand, ControlClient.Failure)
    }

    private let serverPath: String
    private let replyPath: String?
    private let queue = DispatchQueue(label: "vmclockd.chrony-control")
    private let outcomes = Mutex<[Outcome]>([])
    private let inFlight = Mutex(0)
    private let client = Mutex<ControlClient?>(nil)

    init(serverPath: String, replyPath: String?) {
        self.serverPath = serverPath
        self.replyPath = replyPath
    }

    /// Sends the commands in order, stopping at the first failure.
    func submit(_ commands: [ControlCommand]) {
        inFlight.withLock { $0 += 1 }
        queue.async { [self] in
            defer { inFlight.withLock { $0 -= 1 } }
            for command in commands {
                let outcome = perform(command)
                outcomes.withLock { $0.append(outcome) }
                if case .failed = outcome { return }
            }
        }
    }

    /// No job queued or running: optional requests (tracking queries) are
    /// only made then, so a slow chronyd never builds a queue in front of
    /// the next reset.
    var isIdle: Bool { inFlight.withLock { $0 == 0 } }

    /// Outcomes since the last call.
    func drain() -> [Outcome] {
        outcomes.withLock { pending in
            defer { pending = [] }
            return pending
        }
    }

    private func perform(_ command: ControlCommand) -> Outcome {
        client.withLock { client in
            do throws(ControlClient.Failure) {
                if client == nil { client = try ControlClient(serverPath: serverPath, clientPath: replyPath) }
                return .replied(command, try client!.request(command))
            } catch {
                // Rebind next time: chronyd's socket directory may have been
                // recreated under our reply socket, which then never hears back.
                switch error {
                case .socket, .noReply, .unreachable: client = nil
                case .refused: break
                }
                return .failed(command, error)
            }
        }
    }
}

import ErrorNumbers

/// Why a request to chronyd's command socket got no answer to use. The
/// daemon's and the test harness's clients fail the same ways.
public enum ControlFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// No command socket at the path, or chronyd not listening on it.
    case unreachable(path: String, ErrorNumber)
    /// Sent, but no reply in time: chronyd cannot write to our reply
    /// socket, or dropped the request (too old for the command's padding).
    case noReply(path: String, attempts: Int)
    /// chronyd answered with an error status.
    case refused(ControlCommand, ControlReply.Status)
    /// chronyd's reply lacks the data the request asks for (too short).
    case malformedReply(ControlCommand)
    case socket(ErrorNumber)

    public var description: String {
        switch self {
        case .unreachable(let path, let errno):
            "chronyd's command socket \(path) is unreachable (\(errno)): chronyd is not running, or binds its command socket elsewhere or nowhere; put `bindcmdaddress \(path)` in chrony.conf (or set vmclockd's control-socket to the socket chronyd binds) and restart chronyd"
        case .noReply(let path, let attempts):
            "no reply from chronyd on \(path) after \(attempts) attempts: chronyd too old (reset sources needs 4.0+) or cannot write to our reply socket"
        case .refused(let command, let status):
            "chronyd refused '\(command)': \(status)"
        case .malformedReply(let command):
            "chronyd's reply to '\(command)' is too short for its data"
        case .socket(let errno):
            "cannot create the command client socket: \(errno)"
        }
    }
}

/// How one request ended: chronyd's successful reply, or why there is none.
public enum ControlOutcome: Sendable, Equatable {
    case replied(ControlCommand, ControlReply)
    case failed(ControlCommand, ControlFailure)
}

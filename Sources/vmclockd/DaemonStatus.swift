import SystemPackage
import VMClockAccess
import DaemonPublication
import VMClockSystem

/// The running daemon as its status file shows it: `status` prints it,
/// `wait` polls it. A file left by a daemon that died is not a running one.
struct DaemonStatus {
    static let sizeLimit = 64 * 1024

    var path: String
    var snapshot: DaemonSnapshot?
    var running = false
    /// Why there is no running daemon to show, in the operator's words.
    var problem: String?
    /// CLOCK_MONOTONIC when read, for ages.
    var readAt: Int64

    init(path: String) {
        self.path = path
        readAt = SystemClock.monotonicNanoseconds()
        let text: String
        do throws(Errno) {
            text = try AtomicFile.read(path, limit: Self.sizeLimit)
        } catch .noSuchFileOrDirectory {
            problem = "not running (no \(path); a daemon publishing elsewhere is named with --status-file)"
            return
        } catch {
            problem = "cannot read \(path): \(error)"
            return
        }
        do {
            snapshot = try DaemonSnapshot(json: JSONValue(parsing: text))
        } catch {
            problem = "\(path) is not a status file this vmclockd reads: \(error)"
            return
        }
        guard let snapshot else { return }
        running = ProcessIdentity(pid: snapshot.pid, startTicks: snapshot.processStartTicks).isRunning
        if !running { problem = "not running: pid \(snapshot.pid) is gone (it stopped without removing \(path): killed or crashed)" }
    }

    /// Seconds since `moment`, by the monotonic clock.
    func age(_ moment: DaemonSnapshot.Moment) -> Double {
        Double(readAt - moment.monotonicNanoseconds) * 1e-9
    }

    var json: JSONValue {
        .object([
            "status_file": .string(path), "running": .bool(running), "problem": .from(problem),
            "published_age_ns": .from(snapshot.map { readAt - $0.published.monotonicNanoseconds }),
            "last_sample_age_ns": .from(snapshot?.lastSample.map { readAt - $0.at.monotonicNanoseconds }),
            "state": snapshot?.json ?? .null,
        ])
    }
}

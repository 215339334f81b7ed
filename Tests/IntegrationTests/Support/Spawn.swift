import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts a peer process (chronyd, vmclockd) the way a service manager
/// would: posix_spawn with an empty signal mask and default dispositions —
/// a child of the test process would otherwise inherit its blocked SIGTERM
/// (Foundation's Process passes it on) — and only fds 0–2 (stdin /dev/null,
/// stdout and stderr appended to `output`), so it cannot hold another
/// test's pipe open. Returns the child's pid.
func spawnPeer(_ arguments: [String], output: String) throws(SpawnFailure) -> pid_t {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var allSignals = sigset_t()
    sigfillset(&allSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    // Everything else open in this process (listed from /proc/self/fd;
    // glibc's addclosefrom_np is not visible to Swift). A descriptor closed
    // meanwhile makes the child's close fail with EBADF, which posix_spawn ignores.
    let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    for fd in open.compactMap({ Int32($0) }) where fd > 2 {
        posix_spawn_file_actions_addclose(&actions, fd)
    }

    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let variables = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]
    let environment: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
    defer { environment.forEach { free($0) } }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environment)
    guard result == 0 else { throw SpawnFailure(program: arguments[0], errorNumber: result) }
    return pid
}

struct SpawnFailure: Error, CustomStringConvertible {
    var program: String
    var errorNumber: Int32
    var description: String { "posix_spawn \(program): \(String(cString: strerror(errorNumber)))" }
}

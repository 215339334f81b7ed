#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import SystemPackage
import Testing
import VMClockSystem

/// The one writer (status, metrics, the stored identity, chronyd's snippet)
/// and the one reader of whole files, on real files in a private directory.
@Suite struct AtomicFileTests {
    /// A directory of this test's own, removed with what is left in it.
    final class Directory {
        let path: String

        init() throws {
            var template = Array("/tmp/vmclock-atomic-XXXXXX".utf8CString)
            let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
            path = try #require(made.map { String(cString: $0) })
        }

        deinit {
            for name in entries() { unlink("\(path)/\(name)") }
            rmdir(path)
        }

        func entries() -> [String] {
            guard let stream = opendir(path) else { return [] }
            defer { closedir(stream) }
            var names: [String] = []
            while let entry = readdir(stream) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != ".", name != ".." { names.append(name) }
            }
            return names.sorted()
        }

        func mode(of name: String) -> mode_t? {
            var info = stat()
            guard stat("\(path)/\(name)", &info) == 0 else { return nil }
            return info.st_mode & 0o7777
        }
    }

    /// Durable or not (status and metrics are not synced), the same.
    @Test(arguments: [false, true])
    func aReaderSeesTheOldFileOrTheNewNeverAMix(durable: Bool) async throws {
        let directory = try Directory()
        let path = "\(directory.path)/status.json"
        // Large enough that a plain rewrite would be seen half done.
        let versions = ["a", "b"].map { String(repeating: $0, count: 256 * 1024) }
        try AtomicFile.replace(path, with: versions[0], mode: 0o644, durable: true)
        let rounds = 100
        let finished = Finished()
        let writer = Task.detached {
            defer { finished.flag.store(true, ordering: .releasing) }
            for round in 1...rounds { try AtomicFile.replace(path, with: versions[round % 2], mode: 0o644, durable: durable) }
        }
        var reads = 0
        var mixed = 0
        repeat {
            let text = try AtomicFile.read(path, limit: 512 * 1024)
            if !versions.contains(text) { mixed += 1 }
            reads += 1
            await Task.yield()
        } while !finished.flag.load(ordering: .acquiring)
        try await writer.value
        #expect(mixed == 0, "\(mixed) of \(reads) reads saw a file partly written")
        #expect(try AtomicFile.read(path, limit: 512 * 1024) == versions[rounds % 2])
        #expect(directory.entries() == ["status.json"], "no temporary file left beside it")
    }

    @Test(arguments: [0o644, 0o640, 0o666] as [mode_t])
    func theModeIsTheOneAskedForWhateverTheUmask(mode: mode_t) throws {
        let directory = try Directory()
        // The umask (022 at most here) would clear 0o020 and 0o002 of a created file.
        try AtomicFile.replace("\(directory.path)/metrics.prom", with: "x 1\n", mode: mode, durable: false)
        #expect(directory.mode(of: "metrics.prom") == mode)
        try AtomicFile.replace("\(directory.path)/metrics.prom", with: "x 2\n", mode: mode, durable: true)
        #expect(directory.mode(of: "metrics.prom") == mode)
    }

    @Test func aFailureNamesWhatWasDoneWhereAndTheErrno() throws {
        let directory = try Directory()
        let missing = "\(directory.path)/missing"
        let error = #expect(throws: AtomicFile.Failure.self) {
            try AtomicFile.replace("\(missing)/status.json", with: "{}\n", mode: 0o644, durable: false)
        }
        #expect(error?.what == "create a file in" && error?.path == missing && error?.errno == .noSuchFileOrDirectory)
        #expect(error?.description == "cannot create a file in \(missing): No such file or directory")
    }

    @Test func aFailedRenameLeavesTheTargetAsItWasAndNoTemporaryFile() throws {
        let directory = try Directory()
        let target = "\(directory.path)/identity"
        try #require(mkdir(target, 0o755) == 0)
        defer { rmdir(target) }
        let error = #expect(throws: AtomicFile.Failure.self) {
            try AtomicFile.replace(target, with: "vmclockd-identity 1\n", mode: 0o640, durable: true)
        }
        #expect(error?.errno == .isDirectory && error?.path == target)
        #expect(error?.what.hasPrefix("rename \(directory.path)/.identity.") == true)
        #expect(directory.entries() == ["identity"])
    }

    @Test func theReaderReadsAWholeFileUpToItsLimit() throws {
        let directory = try Directory()
        let path = "\(directory.path)/vmclockd.conf"
        let text = String(repeating: "max-error = 0.001\n", count: 1000)
        try AtomicFile.replace(path, with: text, mode: 0o644, durable: true)
        let size = text.utf8.count
        #expect(try AtomicFile.read(path, limit: size) == text)
        #expect(throws: Errno.fileTooLarge) { try AtomicFile.read(path, limit: size - 1) }
        #expect(throws: Errno.noSuchFileOrDirectory) { try AtomicFile.read("\(path).missing", limit: size) }
        try AtomicFile.replace(path, with: "", mode: 0o644, durable: true)
        #expect(try AtomicFile.read(path, limit: 0) == "")
    }
}

/// Set by the writer when it is done, read by the reader between reads.
private final class Finished: Sendable {
    let flag = Atomic(false)
}

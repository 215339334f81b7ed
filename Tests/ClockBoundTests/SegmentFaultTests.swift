#if canImport(Glibc)
import Glibc
#endif
import ClockBoundProtocol
import DaemonPublication
import Testing

/// What may be at the segment's path, or happen to it, made for real: the
/// writer leaves anything not its own untouched, says what to do, and
/// retries every 5 s (the `now` it is given, no waiting here).
@Suite struct SegmentFaultTests {
    typealias F = SegmentFiles
    static let nobody: uid_t = 65534

    struct Foreign: CustomTestStringConvertible, Sendable {
        var testDescription: String
        var make: @Sendable (String) throws -> Void
        var says: String
        var otherWriter = false
    }

    static let foreign: [Foreign] = [
        Foreign(testDescription: "junk", make: { try F.put((0..<80).map { UInt8($0) }, into: $0) }, says: "no ClockBound magic"),
        Foreign(
            testDescription: "a version-1 segment (72 bytes)",
            make: { try F.put(Array(F.header(version: 1, generation: 4)[0..<8]) + [72, 0, 0, 0] + [1, 0, 4, 0] + [UInt8](repeating: 0, count: 56), into: $0) },
            says: "72 bytes"),
        Foreign(testDescription: "protocol 3", make: { try F.put(F.previousRun(version: 3, generation: 2), into: $0) }, says: "protocol version 3"),
        Foreign(testDescription: "a directory", make: { mkdir($0, 0o755) }, says: "it is a directory"),
        Foreign(testDescription: "a FIFO", make: { mkfifo($0, 0o644) }, says: "it is a FIFO"),
        Foreign(
            testDescription: "a symbolic link to a segment",
            make: { try F.put(F.previousRun(generation: 2), into: $0 + ".target"); symlink($0 + ".target", $0) },
            says: "it is a symbolic link"),
        Foreign(
            testDescription: "junk of another user",
            make: { try F.put([UInt8](repeating: 7, count: 80), into: $0); chown($0, nobody, nobody) },
            says: "it belongs to uid 65534"),
        Foreign(
            testDescription: "a segment of another user (AWS's clockbound)",
            make: { try F.put(F.previousRun(generation: 10), into: $0); chown($0, nobody, nobody) },
            says: "systemctl disable --now clockbound", otherWriter: true),
    ]

    @Test(arguments: foreign)
    func anythingElseAtThePathIsLeftAlone(_ foreign: Foreign) throws {
        let rig = try SegmentRig()
        let (path, file, reports) = (rig.path, rig.file, rig.reports)
        try foreign.make(path)
        let before = (F.info(path), F.bytes(path))
        #expect(!file.write(F.body, now: 0))
        #expect(file.condition.isOtherWriter == foreign.otherWriter)
        let message = try #require(file.condition.message)
        #expect(message.contains(path) && message.contains(foreign.says), "\(message)")
        #expect(message.contains("set clockbound-segment to another path or none"), "\(message)")
        let key = foreign.otherWriter ? "clockbound-segment-other-writer" : "clockbound-segment-foreign"
        #expect(reports.current(key) == message)
        // Untouched: same file, mode, owner, size and bytes.
        let after = (F.info(path), F.bytes(path))
        #expect(after.0?.st_ino == before.0?.st_ino && after.0?.st_mode == before.0?.st_mode)
        #expect(after.0?.st_uid == before.0?.st_uid && after.1 == before.1)
        if foreign.testDescription.contains("symbolic") { #expect(F.generation(path + ".target") == 2) }
    }

    /// Once the operator removes the foreign file, the next attempt (5 s
    /// on) makes the segment and clears the problem.
    @Test func theWriterStartsOnceTheForeignFileIsGone() throws {
        let rig = try SegmentRig()
        let (path, file, reports) = (rig.path, rig.file, rig.reports)
        try F.put([UInt8](repeating: 7, count: 80), into: path)
        #expect(!file.write(F.body, now: 0))
        unlink(path)
        #expect(!file.write(F.body, now: 4 * F.second))
        #expect(F.info(path) == nil, "no attempt before 5 s")
        #expect(file.write(F.body, now: 5 * F.second))
        #expect(file.condition == .writing)
        #expect(reports.everReported("clockbound-segment-foreign") && reports.current("clockbound-segment-foreign") == nil)
    }

    @Test func aMissingDirectoryIsCreatedWithMode0755() throws {
        let rig = try SegmentRig(at: "clockbound/shm0")
        let (path, file) = (rig.path, rig.file)
        #expect(file.write(F.body, now: 0))
        let made = try #require(F.info(rig.dir.path("clockbound")))
        #expect(made.st_mode & S_IFMT == S_IFDIR && made.st_mode & 0o7777 == 0o755)
        #expect(F.generation(path) == 2)
    }

    /// Only the last component is created: a missing parent is the
    /// operator's to make. Retried every 5 s, not at every write.
    @Test func aDirectoryThatCannotBeCreatedIsReportedAndRetriedEveryFiveSeconds() throws {
        let rig = try SegmentRig(at: "missing/clockbound/shm0")
        let (file, reports) = (rig.file, rig.reports)
        let parent = rig.dir.path("missing")
        #expect(!file.write(F.body, now: 0))
        let message = try #require(file.condition.message)
        #expect(file.condition.isFailing)
        #expect(message.contains("cannot create the directory \(parent)/clockbound") && message.contains("No such file"), "\(message)")
        #expect(reports.current("clockbound-segment") == message)
        mkdir(parent, 0o755)
        #expect(!file.write(F.body, now: 4 * F.second))
        #expect(F.info(parent + "/clockbound") == nil, "no attempt before 5 s")
        #expect(file.write(F.body, now: 5 * F.second))
        #expect(reports.current("clockbound-segment") == nil)
    }

    /// A read-only file system (a read-only bind mount of a private
    /// directory): neither a new segment nor a previous run's can be written.
    @Test(
        .enabled(if: mayBindMount, "this process cannot bind-mount (root with CAP_SYS_ADMIN) to make a read-only file system"),
        arguments: [false, true])
    func aReadOnlyFileSystemIsReported(previousRun: Bool) throws {
        let rig = try SegmentRig(at: "mounted/shm0")
        let (file, reports) = (rig.file, rig.reports)
        let source = rig.dir.path("source"), mounted = rig.dir.path("mounted")
        mkdir(source, 0o755)
        mkdir(mounted, 0o755)
        if previousRun { try F.put(F.previousRun(generation: 4), into: source + "/shm0") }
        guard mount(source, mounted, nil, UInt(MS_BIND), nil) == 0 else {
            Issue.record("cannot bind-mount \(source): errno \(errno)")
            return
        }
        defer { umount2(mounted, Int32(MNT_DETACH)) }
        try #require(mount(nil, mounted, nil, UInt(MS_REMOUNT | MS_BIND | MS_RDONLY), nil) == 0, "remount read-only: errno \(errno)")
        #expect(!file.write(F.body, now: 0))
        let message = try #require(file.condition.message)
        #expect(file.condition.isFailing && message.contains("Read-only file system"), "\(message)")
        #expect(reports.current("clockbound-segment") == message)
        #expect(F.bytes(source + "/shm0") == (previousRun ? F.previousRun(generation: 4) : nil))
    }

    /// A bind mount of a scratch directory onto itself, undone at once.
    static let mayBindMount: Bool = {
        var template = Array("/tmp/vmclock-mount-probe-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { return false }
        let probe = String(cString: made)
        defer { rmdir(probe) }
        guard mount(probe, probe, nil, UInt(MS_BIND), nil) == 0 else { return false }
        return umount2(probe, Int32(MNT_DETACH)) == 0
    }()

    /// Deleted under the writer: the old file (which clients keep mapped)
    /// says Unknown, a new one takes the path, and the operator is told
    /// that clients must reopen.
    @Test func aDeletedFileIsMarkedUnknownAndMadeAnew() throws {
        let rig = try SegmentRig()
        let (path, file, reports) = (rig.path, rig.file, rig.reports)
        #expect(file.write(F.body, now: 0))
        let old = try OldMapping(path)
        let oldInode = try #require(F.info(path)).st_ino
        unlink(path)
        var next = F.body
        next.boundNanoseconds = 99
        #expect(file.write(next, now: F.second))
        #expect(old.status == SegmentStatus.unknown.rawValue && old.generation == 4)
        #expect(F.info(path).map { $0.st_ino != oldInode } == true)
        #expect((F.version(path), F.generation(path)) == (2, 2))
        #expect(F.bytes(path).map { Array($0[48..<56]) } == [99, 0, 0, 0, 0, 0, 0, 0])
        let notice = try #require(reports.entries.first { $0.key == "clockbound-segment-replaced" }?.problem)
        #expect(notice.contains("deleted") && notice.contains("reopen"), "\(notice)")
        #expect(file.condition == .writing)
    }

    /// A client's view of a file: mapped read-only, kept after the name goes.
    final class OldMapping {
        let base: UnsafeMutableRawPointer
        init(_ path: String) throws {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            try #require(fd >= 0)
            defer { close(fd) }
            let mapped = mmap(nil, 80, PROT_READ, MAP_SHARED, fd, 0)
            base = try #require(mapped == MAP_FAILED ? nil : mapped)
        }
        deinit { munmap(base, 80) }
        var status: Int32 { base.load(fromByteOffset: 68, as: Int32.self) }
        var generation: UInt16 { base.load(fromByteOffset: 14, as: UInt16.self) }
    }
}

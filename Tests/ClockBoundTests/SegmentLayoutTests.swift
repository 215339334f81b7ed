#if canImport(Glibc)
import Glibc
#endif
import ClockBoundProtocol
import DaemonPublication
import Testing

/// The segment as ClockBound's clients read it: the bytes vmclockd's writer
/// leaves in the file, against PROTOCOL.md (version 2), and the generation
/// seqlock across writes, restarts and the wrap.
@Suite struct SegmentLayoutTests {
    typealias F = SegmentFiles

    /// The 80 bytes PROTOCOL.md describes for `SegmentFiles.body`, written
    /// by hand on a little-endian machine (x86-64, arm64).
    static let expected: [UInt8] = [
        0x4E, 0x5A, 0x4D, 0x41, 0x00, 0x02, 0x42, 0x43,  // magic: u32 0x414D5A4E, u32 0x43420200
        0x50, 0x00, 0x00, 0x00,  // segment size 80
        0x02, 0x00,  // version 2
        0x02, 0x00,  // generation 2: the first complete write
        0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00,  // as_of tv_sec
        0x08, 0x07, 0x06, 0x05, 0x00, 0x00, 0x00, 0x00,  // as_of tv_nsec
        0x14, 0x13, 0x12, 0x11, 0x00, 0x00, 0x00, 0x00,  // void_after tv_sec
        0x18, 0x17, 0x16, 0x15, 0x00, 0x00, 0x00, 0x00,  // void_after tv_nsec
        0x26, 0x25, 0x24, 0x23, 0x22, 0x21, 0x00, 0x00,  // bound (ns)
        0x38, 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31,  // disruption_marker
        0x44, 0x43, 0x42, 0x41,  // max_drift (ppb)
        0x01, 0x00, 0x00, 0x00,  // clock_status 1: Synchronized
        0x01,  // clock disruption support
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // padding
    ]

    @Test func theFirstWriteLeavesProtocolTwoByteForByte() throws {
        let rig = try SegmentRig()
        let (path, file) = (rig.path, rig.file)
        #expect(file.write(F.body, now: 0))
        #expect(file.condition == .writing)
        #expect(F.bytes(path) == Self.expected)
        // Any user's client reads it.
        #expect(F.info(path).map { $0.st_mode & 0o7777 } == 0o644)
    }

    /// A client that maps the file between its creation and the first write
    /// must see "not initialised" (version 0, generation 0), never a half body.
    @Test func aFreshFileSaysNotInitialisedUntilTheFirstCompleteWrite() throws {
        let rig = try SegmentRig()
        let (path, file) = (rig.path, rig.file)
        #expect(file.prepare(now: 0))
        #expect(F.bytes(path) == Array(Self.expected[0..<12]) + [0, 0, 0, 0] + [UInt8](repeating: 0, count: 64))
        #expect(file.write(F.body, now: 1))
        #expect((F.version(path), F.generation(path)) == (2, 2))
    }

    @Test func eachWriteAdvancesTheGenerationByTwo() throws {
        let rig = try SegmentRig()
        let (path, file) = (rig.path, rig.file)
        var seen: [UInt16?] = []
        for i in 0..<4 {
            file.write(F.body, now: Int64(i))
            seen.append(F.generation(path))
        }
        #expect(seen == [2, 4, 6, 8])
    }

    /// Past 65535 the generation goes to 2, never 0 ("not initialised");
    /// an odd one (a writer that died mid-write) is finished, not skipped.
    @Test(arguments: [(UInt16(65534), UInt16(2)), (65535, 2), (65532, 65534), (7, 8)])
    func theGenerationWrapsToTwoNeverZero(found: UInt16, after: UInt16) throws {
        let rig = try SegmentRig()
        let (path, file) = (rig.path, rig.file)
        try F.put(F.previousRun(generation: found), into: path)
        #expect(file.write(F.body, now: 0))
        #expect(F.generation(path) == after)
        #expect(file.write(F.body, now: 1))
        #expect(F.generation(path) == (after == 65534 ? 2 : after + 2))
    }

    /// A restarted daemon takes over the same file (clients keep their
    /// mapping): same inode, the generation continued.
    @Test func aRestartTakesOverThePreviousRunsFile() throws {
        let rig = try SegmentRig()
        let path = rig.path
        do {
            let first = ClockBoundSegmentFile(path: path) { _, _, _ in }
            for i in 0..<3 { first.write(F.body, now: Int64(i)) }
        }
        let inode = try #require(F.info(path)).st_ino
        #expect(F.generation(path) == 6)
        let second = ClockBoundSegmentFile(path: path) { _, _, _ in }
        var next = F.body
        next.boundNanoseconds = 99
        #expect(second.write(next, now: 0))
        #expect(F.generation(path) == 8)
        #expect(F.info(path)?.st_ino == inode)
        #expect(F.bytes(path).map { Array($0[48..<56]) } == [99, 0, 0, 0, 0, 0, 0, 0])
    }

    /// A previous run's file that was never written (version 0) is taken
    /// over too; one of ours with another mode gets 0644 back.
    @Test func anUnwrittenSegmentIsTakenOverAndGetsMode0644() throws {
        let rig = try SegmentRig()
        let (path, file) = (rig.path, rig.file)
        try F.put(F.previousRun(version: 0, generation: 0), into: path)
        chmod(path, 0o600)
        #expect(file.write(F.body, now: 0))
        #expect(F.bytes(path) == Self.expected)
        #expect(F.info(path).map { $0.st_mode & 0o7777 } == 0o644)
    }

    /// On the way out the last body stays (the caller's Unknown one); the
    /// file is never deleted, as clients keep it mapped.
    @Test func withdrawingWritesTheLastBodyAndKeepsTheFile() throws {
        let rig = try SegmentRig()
        let (path, file) = (rig.path, rig.file)
        file.write(F.body, now: 0)
        var unknown = F.body
        unknown.statusValue = SegmentStatus.unknown.rawValue
        file.withdraw(unknown)
        let bytes = try #require(F.bytes(path))
        #expect(bytes.count == 80)
        #expect(Array(bytes[68..<72]) == [0, 0, 0, 0])
        #expect(F.generation(path) == 4)
    }
}

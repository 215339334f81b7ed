#if canImport(Glibc)
import Glibc
#endif
import ClockBoundProtocol
import DaemonPublication
import Testing

/// Another process writing the same segment (AWS's clockbound daemon left
/// running): vmclockd notices at its next write, stops, and resumes once
/// the other has been quiet through a whole 5 s check.
@Suite struct OtherWriterTests {
    typealias F = SegmentFiles

    /// The other writer completes a write of its own: generation 4, its body.
    static func otherWrites(_ path: String, generation: UInt16) throws {
        try F.put([UInt8(generation & 0xFF), UInt8(generation >> 8)] + [UInt8](repeating: 0xEE, count: 64), at: 14, into: path)
    }

    @Test func aRawWriterStopsVMClockdUntilItHasBeenQuietFiveSeconds() throws {
        let rig = try SegmentRig()
        let (path, file, reports) = (rig.path, rig.file, rig.reports)
        #expect(file.write(F.body, now: 0))
        try Self.otherWrites(path, generation: 4)
        let theirs = F.bytes(path)

        #expect(!file.write(F.body, now: 1 * F.second))
        let message = try #require(file.condition.message)
        #expect(file.condition.isOtherWriter && message.contains("systemctl disable --now clockbound"), "\(message)")
        #expect(message.contains("from 2 to 4"), "\(message)")
        #expect(reports.current("clockbound-segment-other-writer") == message)
        #expect(!file.write(F.body, now: 2 * F.second))
        #expect(F.bytes(path) == theirs, "vmclockd wrote nothing")

        // Still writing at the check 5 s on: another 5 s.
        try Self.otherWrites(path, generation: 6)
        #expect(!file.write(F.body, now: 6 * F.second))
        #expect(reports.current("clockbound-segment-other-writer")?.contains("from 4 to 6") == true)
        #expect(!file.write(F.body, now: 10 * F.second))
        #expect(F.generation(path) == 6)
        // Quiet from 6 s to 11 s: vmclockd writes again, after their generation.
        #expect(file.write(F.body, now: 11 * F.second))
        #expect(F.generation(path) == 8)
        #expect(file.condition == .writing)
        #expect(reports.current("clockbound-segment-other-writer") == nil)
    }

    /// Two writers of this kind on one path: the one that finds the
    /// generation moved yields; the other goes on, and the first takes the
    /// segment back once the second has stopped.
    @Test func aSecondWriterOnTheSamePathMakesTheFirstYield() throws {
        let rig = try SegmentRig()
        let (path, first) = (rig.path, rig.file)
        let second = ClockBoundSegmentFile(path: path) { _, _, _ in }
        #expect(first.write(F.body, now: 0))
        #expect(second.write(F.body, now: 0))
        #expect(!first.write(F.body, now: F.second))
        #expect(first.condition.isOtherWriter)
        #expect(second.write(F.body, now: F.second))
        #expect(second.condition == .writing && F.generation(path) == 6)
        var unknown = F.body
        unknown.statusValue = 0
        second.withdraw(unknown)
        #expect(F.generation(path) == 8)
        // First check (6 s): moved since 1 s. Second (11 s): quiet, resumed.
        #expect(!first.write(F.body, now: 6 * F.second))
        #expect(first.write(F.body, now: 11 * F.second))
        #expect(F.generation(path) == 10)
    }

    /// AWS's writer re-creates its segment by truncating it: a store into
    /// the mapping past the file's end would raise SIGBUS. vmclockd stops,
    /// and 5 s on finds an empty file it makes its own again.
    @Test func aFileCutShortUnderTheWriterIsNeverTouchedThroughTheMapping() throws {
        let rig = try SegmentRig()
        let (path, file) = (rig.path, rig.file)
        #expect(file.write(F.body, now: 0))
        try #require(truncate(path, 40) == 0)
        #expect(!file.write(F.body, now: F.second))
        #expect(file.condition.isOtherWriter && file.condition.message?.contains("cut short") == true)
        #expect(F.bytes(path)?.count == 40)
        try #require(truncate(path, 0) == 0)
        #expect(file.write(F.body, now: 6 * F.second))
        #expect(F.bytes(path) == SegmentLayoutTests.expected)
    }

    /// A writer that died mid-write leaves the generation odd: once it
    /// stayed so through a check, vmclockd finishes that write with its own.
    @Test func aWriterThatDiedMidWriteIsTakenOver() throws {
        let rig = try SegmentRig()
        let (path, file) = (rig.path, rig.file)
        #expect(file.write(F.body, now: 0))
        try Self.otherWrites(path, generation: 5)
        #expect(!file.write(F.body, now: F.second))
        #expect(!file.write(F.body, now: 6 * F.second - 1) && F.generation(path) == 5)
        #expect(file.write(F.body, now: 6 * F.second))
        #expect(F.generation(path) == 6)
        #expect(F.bytes(path).map { Array($0[16...]) } == Array(SegmentLayoutTests.expected[16...]))
    }
}

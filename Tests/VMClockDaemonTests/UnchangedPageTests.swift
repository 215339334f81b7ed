#if canImport(Glibc)
import Glibc
#endif
import Testing
import VMClockAccess
import VMClockPage
import VMClockSimulation

/// `VMClockDevice.isUnchanged(since:)` on a real page file, mapped and read:
/// a page whose identity fields changed is changed, whatever seq_count says
/// (a host's fresh page on a migration's destination may repeat the count).
@Suite struct UnchangedPage {
    /// A page file written here, one field at a time, seq_count never touched.
    final class PageFile {
        let path: String
        private let fd: Int32

        init(flags: PageFlags) throws {
            path = "/tmp/vmclock-unchanged-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            try #require(fd >= 0)
            var image = PageImage()
            image.disruptionMarker = 41
            image.vmGenerationCounter = 7
            image.flags = flags.rawValue
            let page = image.encode() + [UInt8](repeating: 0, count: PageLayout.pageSize - PageLayout.structureSize)
            try #require(pwrite(fd, page, page.count, 0) == page.count)
        }

        deinit {
            close(fd)
            unlink(path)
        }

        func write(_ value: UInt64, at offset: Int) throws {
            var raw = value.littleEndian
            try #require(pwrite(fd, &raw, 8, off_t(offset)) == 8)
        }
    }

    @Test(arguments: [true, false])
    func aNewMarkerUnderTheSameSeqCountIsAChange(mapped: Bool) throws {
        let file = try PageFile(flags: [])
        let device = try VMClockDevice(path: file.path, allowMapping: mapped)
        #expect(device.readMethod == (mapped ? .mmap : .pread))
        let page = try device.snapshot()
        #expect(device.isUnchanged(since: page))
        try file.write(42, at: PageLayout.disruptionMarker)
        #expect(try device.snapshot().seqCount == page.seqCount)
        #expect(!device.isUnchanged(since: page))
    }

    @Test(arguments: [true, false])
    func aNewGenerationIsAChangeOnlyWhereTheHostKeepsOne(mapped: Bool) throws {
        let keeping = try PageFile(flags: .vmGenerationCounterPresent)
        let kept = try VMClockDevice(path: keeping.path, allowMapping: mapped)
        let keptPage = try kept.snapshot()
        try keeping.write(8, at: PageLayout.vmGenerationCounter)
        #expect(!kept.isUnchanged(since: keptPage))

        // Without VM_GEN_COUNTER_PRESENT the field means nothing.
        let notKeeping = try PageFile(flags: [])
        let plain = try VMClockDevice(path: notKeeping.path, allowMapping: mapped)
        let plainPage = try plain.snapshot()
        try notKeeping.write(8, at: PageLayout.vmGenerationCounter)
        #expect(plain.isUnchanged(since: plainPage))
    }
}

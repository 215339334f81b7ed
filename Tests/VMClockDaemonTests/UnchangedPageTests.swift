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

        func write<Value: FixedWidthInteger>(_ value: Value, at offset: Int) throws {
            var raw = value.littleEndian
            try #require(pwrite(fd, &raw, MemoryLayout<Value>.size, off_t(offset)) == MemoryLayout<Value>.size)
        }
    }

    @Test(arguments: [true, false])
    func aNewMarkerUnderTheSameSeqCountIsAChange(mapped: Bool) throws {
        let file = try PageFile(flags: [])
        let device = try VMClockDevice(path: file.path, allowMapping: mapped)
        #expect(device.readMethod == (mapped ? .mmap : .pread))
        let page = try device.snapshot()
        #expect(device.isUnchanged(since: page))
        try file.write(UInt64(42), at: PageLayout.disruptionMarker)
        #expect(try device.snapshot().seqCount == page.seqCount)
        #expect(!device.isUnchanged(since: page))
    }

    @Test(arguments: [true, false])
    func aNewGenerationIsAChangeOnlyWhereTheHostKeepsOne(mapped: Bool) throws {
        let keeping = try PageFile(flags: .vmGenerationCounterPresent)
        let kept = try VMClockDevice(path: keeping.path, allowMapping: mapped)
        let keptPage = try kept.snapshot()
        try keeping.write(UInt64(8), at: PageLayout.vmGenerationCounter)
        #expect(!kept.isUnchanged(since: keptPage))

        // Without VM_GEN_COUNTER_PRESENT the field means nothing.
        let notKeeping = try PageFile(flags: [])
        let plain = try VMClockDevice(path: notKeeping.path, allowMapping: mapped)
        let plainPage = try plain.snapshot()
        try notKeeping.write(UInt64(8), at: PageLayout.vmGenerationCounter)
        #expect(plain.isUnchanged(since: plainPage))
    }

    /// The rest of the identity (size, version, counter_id) and time_type
    /// beside it: each, changed alone under the same seq_count and marker.
    @Test(arguments: [true, false])
    func aNewCounterSizeVersionOrTimeTypeIsAChange(mapped: Bool) throws {
        let edits: [(String, (PageFile) throws -> Void)] = [
            ("counter_id", { try $0.write(UInt8(0), at: PageLayout.counterID) }),
            ("time_type", { try $0.write(UInt8(1), at: PageLayout.timeType) }),
            ("size", { try $0.write(UInt32(104), at: PageLayout.size) }),
            ("version", { try $0.write(UInt16(2), at: PageLayout.version) }),
        ]
        for (name, edit) in edits {
            let file = try PageFile(flags: [])
            let device = try VMClockDevice(path: file.path, allowMapping: mapped)
            let page = try device.snapshot()
            try edit(file)
            #expect(!device.isUnchanged(since: page), "\(name)")
        }
    }
}

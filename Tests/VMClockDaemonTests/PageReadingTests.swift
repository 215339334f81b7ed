import Testing
import VMClockAccess
import VMClockPage

/// `PageReading`, the one "is it still the same page" of the daemon (the
/// look's clock readings, the check before a send, readWithSystemClock), on
/// a real page file changed between or during the reads.
@Suite struct PageReadingTests {
    typealias PageFile = UnchangedPage.PageFile

    @Test(arguments: [true, false])
    func aMeasurementOfAnUnchangedPageBelongsToIt(mapped: Bool) throws {
        let file = try PageFile(flags: [])
        let device = try VMClockDevice(path: file.path, allowMapping: mapped)
        let reading = PageReading(device: device, page: try device.snapshot())
        #expect(reading.isCurrent)
        #expect(reading.whileCurrent { 7 } == 7)
    }

    @Test(arguments: [true, false])
    func aPagePublishedDuringTheMeasurementDisownsIt(mapped: Bool) throws {
        let file = try PageFile(flags: [])
        let device = try VMClockDevice(path: file.path, allowMapping: mapped)
        let reading = PageReading(device: device, page: try device.snapshot())
        var measured = false
        let result = reading.whileCurrent {
            measured = true
            try? file.write(UInt64(42), at: PageLayout.disruptionMarker)
            return 7
        }
        #expect(measured && result == nil)
        #expect(!reading.isCurrent)
    }

    @Test(arguments: [true, false])
    func aPageAlreadyPublishedIsNotMeasuredAtAll(mapped: Bool) throws {
        let file = try PageFile(flags: [])
        let device = try VMClockDevice(path: file.path, allowMapping: mapped)
        let reading = PageReading(device: device, page: try device.snapshot())
        try file.write(reading.page.seqCount &+ 2, at: PageLayout.seqCount)
        var measured = false
        #expect(reading.whileCurrent { measured = true } == nil)
        #expect(!measured)
    }

    @Test(arguments: [true, false])
    func readWithSystemClockGivesTheCurrentPage(mapped: Bool) throws {
        let file = try PageFile(flags: [])
        let device = try VMClockDevice(path: file.path, allowMapping: mapped)
        let (page, _) = try device.readWithSystemClock()
        #expect(PageReading(device: device, page: page).isCurrent)
        #expect(page.disruptionMarker == 41)
    }
}

import Testing
import ErrorNumbers
import SystemPackage
import VMClockAccess
import VMClockPage
@testable import DaemonCore
import VMClockSystem

/// A device that is there but fails to open or read holds with its own
/// reason and is no disruption; the page it shows when it reads again
/// decides whether anything happened meanwhile.
@Suite struct TransientErrors {
    static let failing = DeviceError.unreadable(path: "/dev/vmclock0", errno: ErrorNumber(Errno.ioError))

    @Test func aFailingReadHoldsWithItsReasonAndIsNoDisruption() {
        var s = Scenario()
        s.startTracking()
        let effects = s.feed(.readFailed(Self.failing))
        #expect(s.state == .holding(.deviceFailing(Self.failing)))
        #expect(effects.disruptions.isEmpty)
        #expect(s.core.sample == nil, "no sample leaves during the hold")
        #expect(s.core.resetOwed == nil, "chronyd is not reset")
    }

    @Test func theSamePageAfterwardsResumesWithoutADisruption() {
        var s = Scenario()
        s.startTracking()
        for _ in 0..<5 { s.feed(.readFailed(Self.failing)) }
        s.run(milliseconds: 100)
        #expect(s.state == .tracking)
        #expect(s.history.disruptions.isEmpty)
    }

    @Test func aChangedMarkerAfterwardsIsADisruption() {
        var s = Scenario()
        s.startTracking()
        s.feed(.readFailed(Self.failing))
        s.image.disruptionMarker += 1
        s.run(milliseconds: 100)
        #expect(s.history.disruptions == [.migration])
    }

    @Test func aVanishedDeviceIsStillADisruption() {
        var s = Scenario()
        s.startTracking()
        let effects = s.feed(.unavailable(.absent(path: "/dev/vmclock0")))
        #expect(effects.disruptions == [.deviceGone])
    }

    @Test func onlyAnAbsentDeviceHasVanished() {
        #expect(DeviceError.absent(path: "/dev/vmclock0").hasVanished)
        #expect(!DeviceError.permissionDenied(path: "/dev/vmclock0").hasVanished)
        #expect(!DeviceError.tooShort(path: "/dev/vmclock0", bytes: 8).hasVanished)
        #expect(!DeviceError.unreadable(path: "/dev/vmclock0", errno: ErrorNumber(Errno.tooManyOpenFiles)).hasVanished)
    }

    @Test func theBackoffDoublesToItsCapAndASuccessStartsOver() {
        var backoff = Backoff.device
        var now: Int64 = 0
        #expect(!backoff.isWaiting(now: now))
        var waits: [Int64] = []
        for _ in 0..<8 {
            backoff.failed(now: now)
            let retry = backoff.retryAt!
            waits.append(retry - now)
            #expect(backoff.isWaiting(now: retry - 1))
            #expect(!backoff.isWaiting(now: retry))
            now = retry
        }
        let ms: Int64 = 1_000_000
        #expect(waits == [100, 200, 400, 800, 1600, 2000, 2000, 2000].map { $0 * ms })
        backoff.succeeded()
        #expect(!backoff.isWaiting(now: now))
        backoff.failed(now: now)
        #expect(backoff.retryAt == now + 100 * ms)
    }
}

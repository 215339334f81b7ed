import ClockBoundProtocol
import VMClockAccess

/// One `now()` as a ClockBound client does it (PROTOCOL.md, official client
/// 2.0): the segment under its seqlock, then CLOCK_REALTIME and
/// CLOCK_MONOTONIC_COARSE, then, where the segment asks for it, the device's
/// disruption_marker, and `ClientMath` on the lot. `vmclockd now` prints it;
/// `vmclockd wait` waits for it to say synchronized.
struct SegmentClient {
    let segmentPath: String
    let devicePath: String

    /// What one read gave.
    enum Outcome {
        /// A bound, with the status it carries (exit 0, 3 or 1).
        case reading(ClientMath.Reading, SegmentBody, deviceMarker: UInt64?)
        /// The segment asks for the marker check, but the device cannot be
        /// read: like the official client, no bound (exit 1).
        case deviceUnreadable(SegmentBody, reason: String)
        /// No segment to read, or not one this reader may use (exit 2).
        case segmentUnusable(String)
    }

    func read() -> Outcome {
        let body: SegmentBody
        do throws(ClockBoundSegmentReader.Failure) {
            body = try ClockBoundSegmentReader(path: segmentPath).read()
        } catch {
            return .segmentUnusable(error.description)
        }
        let now = SystemClock.realtime()
        let realtime = Int128(now.seconds) * 1_000_000_000 + Int128(now.nanoseconds)
        let coarse = Int128(SystemClock.monotonicCoarseNanoseconds())
        var marker: UInt64?
        if body.disruptionSupport {
            do {
                marker = try VMClockDevice(path: devicePath).snapshot().disruptionMarker
            } catch {
                return .deviceUnreadable(body, reason: "\(error)")
            }
        }
        switch ClientMath.read(body, realtime: realtime, coarse: coarse, deviceMarker: marker) {
        case .success(let reading): return .reading(reading, body, deviceMarker: marker)
        case .failure(let failure): return .segmentUnusable("\(segmentPath): \(failure)")
        }
    }
}

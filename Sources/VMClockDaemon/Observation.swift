import VMClockAccess
import VMClockPage

/// One look at the device, as the state machine sees it.
public enum Observation: Sendable, Equatable {
    case unavailable(DeviceError)
    case busy
    case invalid(PageError)
    /// A consistent page, with a counter reading paired with
    /// CLOCK_MONOTONIC_RAW taken while it was current.
    case page(VMClockPage, calibrationPoint: PeriodCalibration.Point)
}

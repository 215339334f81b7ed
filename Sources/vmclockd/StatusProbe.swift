import VMClockAccess
import VMClockPage

/// Reads the device once and judges it: the work behind `vmclockd status`.
struct StatusProbe {
    let path: String
    let atCounter: UInt64?
    let taiPolicy: TAIOffsetPolicy

    func report() -> StatusReport {
        var report = StatusReport(device: path)
        let device: VMClockDevice
        do {
            device = try VMClockDevice(path: path)
        } catch {
            report.fail(error)
            return report
        }
        report.readMethod = device.readMethod.rawValue
        do throws(SnapshotError) {
            if let atCounter {
                let page = try device.snapshot()
                report.judge(page, taiPolicy: taiPolicy, at: .counter(atCounter))
            } else {
                let (page, bracket) = try device.readWithSystemClock()
                report.judge(page, taiPolicy: taiPolicy, at: .bracket(bracket))
            }
        } catch {
            report.fail(error)
        }
        return report
    }
}

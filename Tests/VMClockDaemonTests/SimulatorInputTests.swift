import Testing
import VMClockPage
import VMClockSimulation

/// Regressions found by fuzzing vmclock-sim's command input
/// (`vmclock-fuzz-sim-command`; the inputs are in Tests/fuzz-corpus/sim-command/regress-*):
/// each of these used to trap the simulator.
@Suite struct SimulatorInputTests {
    /// `set period_maxerror_ppb=nan` was accepted, and the page's rate became UInt64(nan).
    @Test(arguments: ["period_maxerror_ppb=nan", "period_esterror_ppb=inf", "period_error_ppm=-inf", "update_interval_ms=nan"])
    func nonFiniteNumbersAreRefused(assignment: String) {
        var settings = SimulationSettings()
        #expect(throws: SettingError.self) { try settings.apply([assignment]) }
        #expect(settings == SimulationSettings())
        #expect(throws: CommandError.self) { try SimulatorCommand(line: "disrupt period_error_ppm=nan") }
    }

    /// A period error of −100 % gave a zero period, whose exponent (Int.min) overflowed the shift.
    @Test func aPeriodErrorOfMinusOneHundredPercentPublishesTheSmallestPeriod() throws {
        var host = SimulatedHost(settings: SimulationSettings())
        let command = try SimulatorCommand(line: "disrupt period_error_ppm=-1000000")
        guard case .disrupt(let step, let ppm) = command else { Issue.record("\(command)"); return }
        host.disrupt(stepNanoseconds: step, periodErrorPPM: ppm)
        let image = host.image()
        #expect(image.counterPeriodFracSec == 1 && image.counterPeriodShift == 0)
    }

    /// `set update_interval_ms=1e300` made the loop's Int64(ms · 10^6) trap.
    @Test func aHugeUpdateIntervalIsClamped() throws {
        var settings = SimulationSettings()
        try settings.apply(["update_interval_ms=1e300"])
        #expect(settings.updateIntervalNanoseconds == 1_000_000_000_000_000_000)
        try settings.apply(["update_interval_ms=-5"])
        #expect(settings.updateIntervalNanoseconds == 0)
        try settings.apply(["update_interval_ms=62.5"])
        #expect(settings.updateIntervalNanoseconds == 62_500_000)
    }
}

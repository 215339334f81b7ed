// vmclockd-daemon-bench: what `vmclockd run` costs and how well it does, with
// the release-built vmclockd and vmclock-sim and a private chronyd running as
// separate processes, as in production. See BENCHMARKS.md, "Daemon".
//
//   swift build -c release --scratch-path .build-release --product vmclockd
//   swift build -c release --scratch-path .build-release --product vmclock-sim
//   swift run -c release --scratch-path .build-release vmclockd-daemon-bench
//
// An executable, not a test: `swift test` builds it but never runs it. It is
// plain Swift, not a package-benchmark target, but it lives under
// Sources/Benchmarks, where the benchmark plugin looks for targets: run by the
// plugin it says it has no benchmarks (HarnessHandshake) and exits.

WakeFloor.runIfAsked(CommandLine.arguments)
if HarnessHandshake.isHarness(CommandLine.arguments) {
    HarnessHandshake.answerNoBenchmarks(CommandLine.arguments)
} else {
    DaemonBench.main()
}

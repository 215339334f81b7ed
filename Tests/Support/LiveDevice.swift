import Testing

/// Tests that run vmclock-sim or vmclockd as separate processes. Serialized:
/// on a 2-core machine, parallel simulators would starve each other and make
/// timing-sensitive assertions (offsets to 1 µs) fail for the wrong reason.
/// Here, in the test support library, so that every test target that runs
/// them (IntegrationTests, ChronyClientsTests) nests its suites in this one.
@Suite(.serialized) public enum LiveDevice {}

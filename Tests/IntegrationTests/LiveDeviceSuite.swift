import Testing

/// Tests that run vmclock-sim or vmclockd as separate processes. Serialized:
/// on a 2-core machine, parallel simulators would starve each other and make
/// timing-sensitive assertions (offsets to 1 µs) fail for the wrong reason.
@Suite(.serialized) enum LiveDevice {}

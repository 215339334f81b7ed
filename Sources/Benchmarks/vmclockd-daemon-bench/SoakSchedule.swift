import Foundation

// The soak's schedule: every random choice of the soak (Soak.swift), drawn
// from one SplitMix64 seeded with --seed in the order the run asks for them,
// so the same seed gives the same events.

/// A seeded generator (SplitMix64): the same seed, the same choices.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What the soak can do to the daemon and its peers.
enum SoakEvent: String, CaseIterable {
    case disrupt, restore, status, freerunning, bound, stall, shortStall = "short-stall", remove, quickRemove = "quick-remove"
    case chronydRestart = "chronyd-restart", disruptWhileDown = "chronyd-restart+disrupt", sighup
}

struct SoakSchedule {
    private var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    static let weights: [(SoakEvent, Double)] = [
        (.disrupt, 22), (.restore, 10), (.status, 10), (.freerunning, 4), (.bound, 9), (.stall, 8), (.shortStall, 4),
        (.remove, 6), (.quickRemove, 4), (.sighup, 8), (.chronydRestart, 3), (.disruptWhileDown, 3),
    ]

    /// The next event: a chronyd restart (with or without a disruption while
    /// it is down) while `restarts` is behind the quota of one per `quota` s
    /// of `elapsed` time, else one drawn by `weights`.
    mutating func nextEvent(restarts: Int, elapsed: Double, quota: Double) -> SoakEvent {
        Double(restarts) < elapsed / quota ? (Bool.random(using: &rng) ? .chronydRestart : .disruptWhileDown) : randomEvent()
    }

    mutating func randomEvent() -> SoakEvent {
        let total = Self.weights.reduce(0) { $0 + $1.1 }
        var x = Double.random(in: 0..<total, using: &rng)
        for (kind, weight) in Self.weights {
            if x < weight { return kind }
            x -= weight
        }
        return .disrupt
    }

    /// A pause (or dwell) of a random length in `range`, s.
    mutating func pause(_ range: Range<Double>) -> Double { Double.random(in: range, using: &rng) }

    mutating func coin() -> Bool { Bool.random(using: &rng) }

    /// A step of 0 (a quarter of them) or ±1 ms…1 s, log-uniform, kept within ±3 s of `start`.
    mutating func step(at offset: Int64, start: Int64) -> Int64 {
        if Double.random(in: 0..<1, using: &rng) < 0.25 { return 0 }
        let magnitude = Int64((1e6 * Double.random(in: 0..<1, using: &rng).exponential(base: 1000)).rounded())
        var step = Bool.random(using: &rng) ? magnitude : -magnitude
        if abs(offset + step - start) > 3_000_000_000 { step = -step }
        return step
    }

    /// A clock_status the daemon must hold on.
    mutating func unusableStatus() -> String { ["unknown", "initializing", "unreliable"].randomElement(using: &rng)! }

    /// A time_maxerror_ns above the 1 ms promise.
    mutating func boundAbovePromise() -> Int64 { Int64(Double.random(in: 1.5..<50, using: &rng) * 1e6) }
}

extension Double {
    /// base^self − 1 scaled to [0, 1) → [1, base): log-uniform.
    fileprivate func exponential(base: Double) -> Double { pow(base, self) }
}

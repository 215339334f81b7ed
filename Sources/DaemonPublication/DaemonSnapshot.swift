import DaemonCore
import VMClockSystem

/// What the running daemon publishes of itself: the document behind
/// `vmclockd status` (its "daemon" part), `vmclockd wait` and the metrics.
/// Plain values only, counted in integer units (ns), so the file it becomes
/// reads back exactly. Schema: README, "The daemon's state".
public struct DaemonSnapshot: Equatable, Sendable {
    /// 2: markers and ns timestamps as decimal strings (`JSONValue.exact`).
    public static let schemaVersion = 2
    /// A file left by the previous version (an upgrade) still reads.
    public static let readableSchemas = 1...2

    /// A moment both ways: wall-clock time for people, CLOCK_MONOTONIC
    /// (system-wide, never stepped) for ages that a migration's step of the
    /// system clock does not falsify.
    public struct Moment: Equatable, Sendable {
        public var unixNanoseconds: Int64
        public var monotonicNanoseconds: Int64
        public init(unixNanoseconds: Int64, monotonicNanoseconds: Int64) {
            self.unixNanoseconds = unixNanoseconds
            self.monotonicNanoseconds = monotonicNanoseconds
        }
    }

    public struct Sample: Equatable, Sendable {
        public var at: Moment
        /// vmclock UTC − system time, as sent to chronyd.
        public var offsetNanoseconds: Int64
        /// The sample's bound, page and read: what chronyd was told it is good to.
        public var boundNanoseconds: UInt64
    }

    public struct Samples: Equatable, Sendable {
        public var sent = 0
        /// Sample intervals that passed while holding, by hold reason (kind).
        public var withheld: [String: Int] = [:]
        /// Computed but not sent: the page changed under it, or chronyd's socket was away.
        public var unsent = 0
        /// Sent into a full socket and dropped by the kernel.
        public var dropped = 0
        public var withheldTotal: Int { withheld.values.reduce(0, +) }
    }

    public struct Disruption: Equatable, Sendable {
        public var at: Moment
        /// DisruptionKind.name: migration, snapshot-restore, …
        public var kind: String
        /// The page's disruption_marker after it (nil: the device went away).
        public var marker: UInt64?
        /// Found at start against what an earlier run left.
        public var whileAway: Bool
    }

    public struct Reset: Equatable, Sendable {
        /// The reset's number in this run, from 1: disruptions and host steps
        /// are numbered together (JSON `disruption`, its name before host steps).
        public var disruption: Int
        public var requestedAt: Moment
        public var acknowledgedAt: Moment?
    }

    /// What chronyd last said of the VMCK source, when the daemon asked.
    public struct Chronyd: Equatable, Sendable {
        public var askedAt: Moment
        /// nil when chronyd could be asked; why not otherwise.
        public var unreachable: String?
        /// nil: chronyd answered but has no VMCK source (or was not asked about it).
        public var vmck: Source?

        public struct Source: Equatable, Sendable {
            /// chronyd's selection state: selected, selectable, unselected, falseticker, jittery, nonselectable.
            public var state: String
            public var selected: Bool { state == "selected" }
            /// chronyd's latest sample of VMCK; nil when it has none (a page
            /// with no clock data, or before the first): no offset to show.
            public var latest: Latest?

            public struct Latest: Equatable, Sendable {
                /// VMCK − system clock as chronyd sees it now: its latest
                /// measurement, adjusted for what chronyd has corrected since
                /// (chronyc's "Last sample" offset, with the daemon's sign).
                public var offsetNanoseconds: Int64
                /// The same measurement as it was taken.
                public var measuredOffsetNanoseconds: Int64
                public var errorNanoseconds: UInt64
                /// Seconds since chronyd took it, when asked.
                public var ageSeconds: UInt32
            }
        }
    }

    /// What ClockBound's segment tells applications, as last written.
    public struct Applications: Equatable, Sendable {
        public var segment: String
        /// The file is being written; nil: it is, otherwise why not.
        public var problem: String?
        /// SegmentStatus's name, and ClockBoundVerdict.Reason's.
        public var status: String
        public var reason: String
        public var reasonText: String
        /// The bound written, where the status claims one.
        public var boundNanoseconds: Int64?
        public var maxDriftPPB: UInt32
        public var writtenAt: Moment?

        public init(
            segment: String, problem: String?, status: String, reason: String, reasonText: String,
            boundNanoseconds: Int64?, maxDriftPPB: UInt32, writtenAt: Moment?
        ) {
            self.segment = segment
            self.problem = problem
            self.status = status
            self.reason = reason
            self.reasonText = reasonText
            self.boundNanoseconds = boundNanoseconds
            self.maxDriftPPB = maxDriftPPB
            self.writtenAt = writtenAt
        }
    }

    public var pid: Int32
    /// The process's start (/proc/PID/stat, clock ticks since boot): with
    /// the pid, tells a live daemon from a reused pid after a crash.
    public var processStartTicks: UInt64
    public var published: Moment
    public var started: Moment
    public var device: String
    /// DaemonState.name, and for a hold HoldReason.kind and its text.
    public var state: String
    public var reason: String?
    public var reasonText: String?
    public var since: Moment
    public var promiseNanoseconds: UInt64
    public var disruptionMarker: UInt64?
    public var lastSample: Sample?
    public var samples = Samples()
    public var disruptions: [String: Int] = [:]
    public var lastDisruption: Disruption?
    public var lastRestore: Moment?
    public var reset: Reset?
    public var resetFailures = 0
    /// Steps of the host's time beyond its own bounds under one marker.
    public var hostSteps = 0
    public var chronyd: Chronyd?
    /// nil: the segment is off (`clockbound-segment none`).
    public var applications: Applications?
    /// The device delivers update notifications and the loop waits on them.
    public var notificationsInUse: Bool
    /// The page's maintenance flags raised: disruption_soon, disruption_imminent.
    public var maintenance: [String]
    public var looks = 0

    public var disruptionsTotal: Int { disruptions.values.reduce(0, +) }

    /// A reset was asked after a disruption and chronyd has not yet
    /// acknowledged it: chronyd may still steer by what the old host taught it.
    public var resetPending: Bool { reset.map { $0.acknowledgedAt == nil } ?? false }

    /// Why chronyd has not acknowledged the owed reset, if the daemon knows:
    /// its last attempt did not reach chronyd (the reply says how to fix it).
    public var resetBlocker: String? {
        guard resetPending, let reset, let chronyd,
            chronyd.askedAt.monotonicNanoseconds >= reset.requestedAt.monotonicNanoseconds
        else { return nil }
        return chronyd.unreachable
    }

    /// The page carries no clock data, and chronyd owes no reset: vmclockd has
    /// done all it can, and whether the clock is good is up to chronyd's
    /// other sources. `vmclockd wait` says so rather than waiting for ever.
    public var cannotVouch: Bool { state == DaemonState.disruptionOnly.name && !resetPending }

    /// The daemon is tracking and chronyd, asked since it began to, follows
    /// VMCK: the condition `vmclockd wait` waits for.
    public var clockIsGood: Bool {
        guard state == DaemonState.tracking.name, let chronyd, let vmck = chronyd.vmck, chronyd.unreachable == nil else { return false }
        return vmck.selected && chronyd.askedAt.monotonicNanoseconds >= since.monotonicNanoseconds
    }
}

extension DisruptionKind {
    /// A short, stable name for the published state and metric labels.
    public var name: String {
        switch self {
        case .migration: "migration"
        case .snapshotRestore: "snapshot-restore"
        case .counterChanged: "counter-changed"
        case .pageReinitialised: "page-reinitialised"
        case .deviceGone: "device-gone"
        case .unverifiedStart: "unverified-start"
        }
    }
}

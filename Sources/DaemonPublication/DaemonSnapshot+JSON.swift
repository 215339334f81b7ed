import DaemonCore
import VMClockSystem

// The published document (README, "The daemon's state"): every key present,
// null when absent, so a reader can tell "none" from "not published".
extension DaemonSnapshot {
    public var json: JSONValue {
        .object([
            "schema": .from(Self.schemaVersion), "pid": .from(pid), "process_start_ticks": .from(processStartTicks),
            "published": published.json, "started": started.json, "device": .string(device),
            "state": .string(state), "reason": .from(reason), "reason_text": .from(reasonText), "since": since.json,
            "promise_ns": .from(promiseNanoseconds), "disruption_marker": .exact(disruptionMarker),
            "last_sample": lastSample?.json ?? .null, "samples": samples.json,
            "disruptions": .object([
                "total": .from(disruptionsTotal), "by_kind": .object(disruptions.mapValues { .from($0) }),
                "last": lastDisruption?.json ?? .null, "last_restore": lastRestore?.json ?? .null,
            ]),
            "reset": reset?.json ?? .null, "reset_failures": .from(resetFailures), "host_steps": .from(hostSteps),
            "chronyd": chronyd?.json ?? .null, "notifications_in_use": .bool(notificationsInUse),
            "maintenance": .array(maintenance.map(JSONValue.string)), "looks": .from(looks),
            "clockbound": applications?.json ?? .null,
        ])
    }

    /// Reads a published document back; nil with why if it is not one this
    /// version can read.
    public init(json: JSONValue) throws(JSONValue.Mismatch) {
        let o = try JSONValue.Reader(json, at: "")
        let schema: Int = try o.integer("schema")
        guard Self.readableSchemas.contains(schema) else {
            throw .init(path: "schema", problem: "is \(schema); this vmclockd reads \(Self.readableSchemas.map(String.init).joined(separator: " and "))")
        }
        pid = try o.integer("pid")
        processStartTicks = try o.integer("process_start_ticks")
        published = try Moment(o.object("published"))
        started = try Moment(o.object("started"))
        device = try o.string("device")
        state = try o.string("state")
        reason = try o.optionalString("reason")
        reasonText = try o.optionalString("reason_text")
        since = try Moment(o.object("since"))
        promiseNanoseconds = try o.integer("promise_ns")
        disruptionMarker = try o.optionalInteger("disruption_marker")
        lastSample = try o.optionalObject("last_sample").map { (r) throws(JSONValue.Mismatch) in try Sample(r) }
        samples = try Samples(o.object("samples"))
        let d = try o.object("disruptions")
        disruptions = try d.integers("by_kind")
        lastDisruption = try d.optionalObject("last").map { (r) throws(JSONValue.Mismatch) in try Disruption(r) }
        lastRestore = try d.optionalObject("last_restore").map { (r) throws(JSONValue.Mismatch) in try Moment(r) }
        reset = try o.optionalObject("reset").map { (r) throws(JSONValue.Mismatch) in try Reset(r) }
        resetFailures = try o.integer("reset_failures")
        // Schema 1 (a daemon from before an upgrade) had no host steps.
        hostSteps = schema == 1 ? 0 : try o.integer("host_steps")
        chronyd = try o.optionalObject("chronyd").map { (r) throws(JSONValue.Mismatch) in try Chronyd(r) }
        notificationsInUse = try o.bool("notifications_in_use")
        maintenance = try o.strings("maintenance")
        looks = try o.integer("looks")
        // Added to schema 2 with the segment: absent from older files.
        applications = try o.optionalObject("clockbound").map { (r) throws(JSONValue.Mismatch) in try Applications(r) }
    }
}

extension DaemonSnapshot.Applications {
    var json: JSONValue {
        .object([
            "segment": .string(segment), "problem": .from(problem), "status": .string(status), "reason": .string(reason),
            "reason_text": .string(reasonText), "bound_ns": .exact(boundNanoseconds), "max_drift_ppb": .from(maxDriftPPB),
            "written": writtenAt?.json ?? .null,
        ])
    }
    init(_ r: JSONValue.Reader) throws(JSONValue.Mismatch) {
        segment = try r.string("segment")
        problem = try r.optionalString("problem")
        status = try r.string("status")
        reason = try r.string("reason")
        reasonText = try r.string("reason_text")
        boundNanoseconds = try r.optionalInteger("bound_ns")
        maxDriftPPB = try r.integer("max_drift_ppb")
        writtenAt = try r.optionalObject("written").map { (m) throws(JSONValue.Mismatch) in try .init(m) }
    }
}

extension DaemonSnapshot.Moment {
    var json: JSONValue { .object(["unix_ns": .exact(unixNanoseconds), "monotonic_ns": .exact(monotonicNanoseconds)]) }
    init(_ r: JSONValue.Reader) throws(JSONValue.Mismatch) {
        unixNanoseconds = try r.integer("unix_ns")
        monotonicNanoseconds = try r.integer("monotonic_ns")
    }
}

extension DaemonSnapshot.Sample {
    var json: JSONValue { .object(["at": at.json, "offset_ns": .from(offsetNanoseconds), "bound_ns": .from(boundNanoseconds)]) }
    init(_ r: JSONValue.Reader) throws(JSONValue.Mismatch) {
        at = try .init(r.object("at"))
        offsetNanoseconds = try r.integer("offset_ns")
        boundNanoseconds = try r.integer("bound_ns")
    }
}

extension DaemonSnapshot.Samples {
    var json: JSONValue {
        .object([
            "sent": .from(sent), "withheld": .from(withheldTotal), "withheld_by_reason": .object(withheld.mapValues { .from($0) }),
            "unsent": .from(unsent), "dropped": .from(dropped),
        ])
    }
    init(_ r: JSONValue.Reader) throws(JSONValue.Mismatch) {
        sent = try r.integer("sent")
        withheld = try r.integers("withheld_by_reason")
        unsent = try r.integer("unsent")
        dropped = try r.integer("dropped")
    }
}

extension DaemonSnapshot.Disruption {
    var json: JSONValue {
        .object(["at": at.json, "kind": .string(kind), "marker": .exact(marker), "while_away": .bool(whileAway)])
    }
    init(_ r: JSONValue.Reader) throws(JSONValue.Mismatch) {
        at = try .init(r.object("at"))
        kind = try r.string("kind")
        marker = try r.optionalInteger("marker")
        whileAway = try r.bool("while_away")
    }
}

extension DaemonSnapshot.Reset {
    var json: JSONValue {
        .object([
            "disruption": .from(disruption), "requested": requestedAt.json,
            "acknowledged": .bool(acknowledgedAt != nil), "acknowledged_at": acknowledgedAt?.json ?? .null,
        ])
    }
    init(_ r: JSONValue.Reader) throws(JSONValue.Mismatch) {
        disruption = try r.integer("disruption")
        requestedAt = try .init(r.object("requested"))
        acknowledgedAt = try r.optionalObject("acknowledged_at").map { (m) throws(JSONValue.Mismatch) in try .init(m) }
    }
}

extension DaemonSnapshot.Chronyd {
    var json: JSONValue {
        .object(["asked": askedAt.json, "unreachable": .from(unreachable), "vmck": vmck?.json ?? .null])
    }
    init(_ r: JSONValue.Reader) throws(JSONValue.Mismatch) {
        askedAt = try .init(r.object("asked"))
        unreachable = try r.optionalString("unreachable")
        vmck = try r.optionalObject("vmck").map { (s) throws(JSONValue.Mismatch) in try Source(s) }
    }
}

extension DaemonSnapshot.Chronyd.Source {
    var json: JSONValue {
        .object([
            "state": .string(state), "selected": .bool(selected),
            "offset_ns": .from(latest?.offsetNanoseconds), "measured_offset_ns": .from(latest?.measuredOffsetNanoseconds),
            "error_ns": .from(latest?.errorNanoseconds), "sample_age_s": .from(latest?.ageSeconds),
        ])
    }
    /// The four sample fields are null together: chronyd has no sample.
    init(_ r: JSONValue.Reader) throws(JSONValue.Mismatch) {
        state = try r.string("state")
        let offset: Int64? = try r.optionalInteger("offset_ns")
        latest = try offset.map { (offset) throws(JSONValue.Mismatch) in
            Latest(offsetNanoseconds: offset, measuredOffsetNanoseconds: try r.integer("measured_offset_ns"),
                   errorNanoseconds: try r.integer("error_ns"), ageSeconds: try r.integer("sample_age_s"))
        }
    }
}

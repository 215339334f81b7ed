import ClockBoundProtocol

/// ClockBound's shared-memory segment (protocol 2) as a file vmclockd
/// writes in place: applications' ClockBound clients map it once and read
/// the bound from it. Faults never stop the daemon: each is reported (by
/// key) and retried every 5 s; the writes of a working file allocate
/// nothing.
///
/// Another writer (AWS's clockbound daemon on the same path) is recognised
/// by the generation: at each write it must be the one this writer left.
/// If it moved, vmclockd stops writing, and resumes once a check (every
/// 5 s) finds the generation where the previous check saw it: the other
/// writer has been quiet for 5 s, as long as its clients trust its data
/// (ClockBound ages a bound after 5 s); one stuck odd died mid-write.
public final class ClockBoundSegmentFile {
    /// What status/metrics show of the file.
    public enum Condition: Equatable, Sendable { case notOpenYet, writing, failing(String), otherWriter(String) }
    public private(set) var condition: Condition = .notOpenYet
    public let path: String

    /// The keys of `report`; a problem of one key is cleared (nil) when
    /// the segment is written again.
    public enum Problem: String, CaseIterable, Sendable {
        /// The file cannot be made, opened or mapped (warning).
        case cannotOpen = "clockbound-segment"
        /// Something else is at the path; left alone (warning).
        case foreign = "clockbound-segment-foreign"
        /// Another process writes the segment (warning).
        case otherWriter = "clockbound-segment-other-writer"
        /// The file was deleted under vmclockd and made anew (notice).
        case replaced = "clockbound-segment-replaced"
    }

    static let retryNanoseconds: Int64 = 5_000_000_000

    private let report: (_ key: String, _ problem: String?, _ now: Int64) -> Void
    private var segment: MappedSegment?
    /// The generation this writer left: what the next write must find.
    private var left: UInt16 = 0
    /// While another writer writes: the generation the last check found.
    private var othersGeneration: UInt16?
    /// The next attempt to open, or the next check for the other writer.
    private var retryAt: Int64 = .min
    private var raised: [Problem] = []

    /// `report(key, problem, now)`: problem nil = cleared; the caller rate-limits and logs it (key distinguishes kinds).
    public init(path: String, report: @escaping (_ key: String, _ problem: String?, _ now: Int64) -> Void) {
        self.path = path
        self.report = report
        raised.reserveCapacity(Problem.allCases.count)
    }

    deinit { segment?.close() }

    /// Writes `body` in place under the generation seqlock; opens/creates the file first if needed
    /// (retrying at most once every 5 s while it cannot). Returns whether it was written. No heap allocation
    /// once open.
    @discardableResult public func write(_ body: SegmentBody, now: Int64) -> Bool {
        guard let segment = opened(now: now), mayWrite(segment, now: now) else { return false }
        switch segment.state {
        case .deleted: return replaceDeleted(segment, with: body, now: now)
        case .shortened:
            // A store past the end would raise SIGBUS: drop it, reopen in 5 s.
            segment.close()
            self.segment = nil
            yield(now: now, "the ClockBound segment \(path) was cut short by another process")
            return false
        case .inPlace: break
        }
        let found = segment.generation
        guard found == left else {
            yield(from: left, to: found, now: now)
            return false
        }
        left = segment.store(body, after: found)
        if condition != .writing { condition = .writing }
        if !raised.isEmpty { clearAll(now: now) }
        return true
    }

    /// On the way out: writes `body` (the caller passes an Unknown one) and unmaps. Never deletes the file:
    /// clients map it once and must keep seeing what is written.
    public func withdraw(_ body: SegmentBody) {
        guard let segment else { return }
        if othersGeneration == nil, segment.state != .shortened, segment.generation == left {
            left = segment.store(body, after: left)
        }
        segment.close()
        self.segment = nil
        condition = .notOpenYet
    }

    /// Opens the file now if it is not yet (as `write` does first): tests
    /// look at the file before its first write.
    package func prepare(now: Int64) -> Bool { opened(now: now) != nil }

    /// Opens the file if it is not, and where it cannot, says why and waits
    /// 5 s before the next attempt.
    private func opened(now: Int64) -> MappedSegment? {
        if let segment { return segment }
        guard now >= retryAt else { return nil }
        do throws(SegmentOpening.Refusal) {
            let opened = try SegmentOpening.open(path)
            (segment, left, othersGeneration) = (opened, opened.generation, nil)
            return opened
        } catch {
            retryAt = now + Self.retryNanoseconds
            switch error {
            case .failing(let message): fail(.cannotOpen, message, now: now, as: .failing(message))
            case .foreign(let message): fail(.foreign, message, now: now, as: .failing(message))
            case .otherWriter(let message): fail(.otherWriter, message, now: now, as: .otherWriter(message))
            }
            return nil
        }
    }

    /// False while another writer has the segment: checked every 5 s, it
    /// is back once the generation stayed where the last check saw it.
    private func mayWrite(_ segment: MappedSegment, now: Int64) -> Bool {
        guard let seen = othersGeneration else { return true }
        guard now >= retryAt else { return false }
        // Deleted or cut short meanwhile: `write` deals with it.
        guard segment.state == .inPlace else { return true }
        let found = segment.generation
        guard found == seen else {
            yield(from: seen, to: found, now: now)
            return false
        }
        (othersGeneration, left) = (nil, found)
        return true
    }

    private func yield(from: UInt16, to found: UInt16, now: Int64) {
        othersGeneration = found
        yield(now: now, "another process writes the ClockBound segment \(path) (its generation went from \(from) to \(found) while vmclockd did not write)")
    }

    private func yield(now: Int64, _ what: String) {
        retryAt = now + Self.retryNanoseconds
        let message = "\(what); two writers make clients read a mix, so vmclockd stops writing it until the other has been quiet for 5 s. Run one writer only: `systemctl disable --now clockbound`, or set clockbound-segment to another path or none"
        fail(.otherWriter, message, now: now, as: .otherWriter(message))
    }

    /// Deleted while mapped: clients holding the old file are told Unknown
    /// there (they never reopen by themselves); a new file takes the path.
    private func replaceDeleted(_ old: MappedSegment, with body: SegmentBody, now: Int64) -> Bool {
        if old.generation == left {
            var unknown = body
            unknown.statusValue = SegmentStatus.unknown.rawValue
            left = old.store(unknown, after: left)
        }
        old.close()
        segment = nil
        raise(.replaced, "the ClockBound segment \(path) was deleted while vmclockd wrote it; vmclockd made a new one, and clients that mapped the old file see status Unknown there until they reopen it (restart them)", now: now)
        retryAt = .min
        return write(body, now: now)
    }

    private func fail(_ problem: Problem, _ message: String, now: Int64, as condition: Condition) {
        self.condition = condition
        for other in raised where other != problem { report(other.rawValue, nil, now) }
        raised.removeAll { $0 != problem }
        raise(problem, message, now: now)
    }

    private func raise(_ problem: Problem, _ message: String, now: Int64) {
        if !raised.contains(problem) { raised.append(problem) }
        report(problem.rawValue, message, now)
    }

    private func clearAll(now: Int64) {
        for problem in raised { report(problem.rawValue, nil, now) }
        raised.removeAll(keepingCapacity: true)
    }
}

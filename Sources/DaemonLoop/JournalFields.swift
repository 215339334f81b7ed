import DaemonCore
import Logging

/// The structured fields every journal line carries: the state, the page's
/// identity, the last sample's offset and bound, and the event's MESSAGE_ID.
public enum JournalFields {
    public static func fields(core: DaemonCore, lastSent: SampleBuilder.Built?, event: DaemonEvent?) -> Logger.Metadata {
        var fields: Logger.Metadata = ["state": "\(core.state.label)"]
        if let identity = core.identity {
            fields["disruption_marker"] = "\(identity.disruptionMarker)"
            if let generation = identity.vmGenerationCounter { fields["vm_generation_counter"] = "\(generation)" }
        }
        if let lastSent {
            fields["offset_ns"] = "\(lastSent.offsetNanoseconds)"
            fields["bound_ns"] = "\(lastSent.boundNanoseconds)"
        }
        if let id = event?.messageID { fields["message_id"] = "\(id.rawValue)" }
        return fields
    }

    static func messageID(_ id: MessageID?) -> Logger.Metadata {
        id.map { ["message_id": "\($0.rawValue)"] } ?? [:]
    }
}

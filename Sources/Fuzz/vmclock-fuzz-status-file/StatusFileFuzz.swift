import FuzzSupport
import DaemonPublication
import VMClockSystem

/// Fuzz target: the status file `vmclockd status` and `vmclockd wait` read
/// (written by the daemon; a truncated, foreign or corrupt one must not
/// trap them). Each input is parsed as JSON (`JSONValue(parsing:)`) and read
/// as a published document (`DaemonSnapshot(json:)`). Invariants: no trap;
/// a value that parses prints as text that parses back to the same value;
/// a document that reads prints and reads back to the same snapshot.
enum StatusFileFuzz {
    static func check(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        let value: JSONValue
        do { value = try JSONValue(parsing: text) } catch { _ = error.description; return }
        guard (try? JSONValue(parsing: value.text)) == value else { fuzzFailure("JSON does not read back: \(value.text)") }
        let snapshot: DaemonSnapshot
        do { snapshot = try DaemonSnapshot(json: value) } catch { _ = error.description; return }
        guard (try? DaemonSnapshot(json: JSONValue(parsing: snapshot.json.text))) == snapshot else {
            fuzzFailure("the snapshot does not read back")
        }
        _ = snapshot.metricsText
        _ = snapshot.clockIsGood
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func statusFileFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    StatusFileFuzz.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

@main enum StatusFileFuzzMain {
    static func main() { FuzzMain.run(statusFileFuzzTestOneInput) }
}

#if canImport(Glibc)
import Glibc
#endif

/// `swift package benchmark` runs every executable target under a folder
/// named Benchmarks, as `NAME --input-fd N --output-fd M …`, and asks it for
/// its list of benchmarks over those pipes: an Int length, then JSON. This
/// target has none for it: every request gets `end` ({"end":{}}), so the
/// plugin lists nothing here and goes on with vmclock-bench. Run it directly.
enum HarnessHandshake {
    static func isHarness(_ arguments: [String]) -> Bool {
        arguments.contains("--input-fd") && arguments.contains("--output-fd")
    }

    static func answerNoBenchmarks(_ arguments: [String]) {
        func descriptor(_ flag: String) -> Int32? {
            guard let i = arguments.firstIndex(of: flag), i + 1 < arguments.count else { return nil }
            return Int32(arguments[i + 1])
        }
        guard let input = descriptor("--input-fd"), let output = descriptor("--output-fd") else { return }
        let reply = Array(#"{"end":{}}"#.utf8)
        while true {
            var length = 0
            let got = withUnsafeMutableBytes(of: &length) { read(input, $0.baseAddress, $0.count) }
            guard got == MemoryLayout<Int>.size, length >= 0, length < 1 << 26 else { return }
            var request = [UInt8](repeating: 0, count: length)
            var filled = 0
            while filled < length {
                let n = request[filled...].withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                guard n > 0 else { return }
                filled += n
            }
            if String(decoding: request, as: UTF8.self).hasPrefix(#"{"end""#) { return }
            var count = reply.count
            _ = withUnsafeBytes(of: &count) { write(output, $0.baseAddress, $0.count) }
            _ = reply.withUnsafeBytes { write(output, $0.baseAddress, $0.count) }
        }
    }
}

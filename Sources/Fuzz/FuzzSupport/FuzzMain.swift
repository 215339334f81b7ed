#if canImport(Glibc)
import Glibc
#endif
#if VMCLOCK_FUZZING
import CLibFuzzerDriver
#endif

/// The one-input callback every fuzz target hands to libFuzzer (and exports
/// as `LLVMFuzzerTestOneInput`).
public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// The entry point of a fuzz target. Built with `-sanitize=fuzzer` and
/// `-DVMCLOCK_FUZZING` (`.ci/fuzz`), it is libFuzzer's driver with all of
/// libFuzzer's options. In a normal build (where libFuzzer is not linked)
/// it replays the files or directories given as arguments through the same
/// callback, so a crash found by the fuzzer can be rerun, and debugged,
/// without the sanitizers.
public enum FuzzMain {
    public static func run(_ callback: FuzzCallback) -> Never {
        #if VMCLOCK_FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
        #else
        let paths = CommandLine.arguments.dropFirst().filter { !$0.hasPrefix("-") }
        guard !paths.isEmpty else {
            printError("usage: \(CommandLine.arguments[0]) FILE|DIRECTORY... (replays inputs; built without libFuzzer)")
            exit(2)
        }
        var count = 0
        for path in paths.flatMap(files(at:)) {
            guard let bytes = read(path) else {
                printError("cannot read \(path)")
                exit(1)
            }
            _ = bytes.withUnsafeBufferPointer { callback($0.baseAddress, $0.count) }
            count += 1
        }
        print("replayed \(count) inputs: no invariant broken")
        exit(0)
        #endif
    }

    /// `path` itself, or the regular files directly inside it.
    static func files(at path: String) -> [String] {
        guard let directory = opendir(path) else { return [path] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if !name.hasPrefix(".") { names.append("\(path)/\(name)") }
        }
        return names.sorted()
    }

    static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n == 0 { break }
            bytes += chunk[..<n]
        }
        return ferror(file) == 0 ? bytes : nil
    }
}

/// A broken invariant: prints what and traps, which libFuzzer (and the
/// replay) report as a crash with the input that caused it.
public func fuzzFailure(_ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    printError("invariant broken (\(file):\(line)): \(message())")
    abort()
}

/// One line on standard error, unbuffered.
public func printError(_ line: String) {
    let text = Array((line + "\n").utf8)
    var done = 0
    while done < text.count {
        let n = text[done...].withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if n <= 0 { return }
        done += n
    }
}

/// Reads little-endian fields from the input, zeros past its end.
public struct InputReader {
    public let bytes: UnsafeRawBufferPointer
    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public func byte(_ offset: Int) -> UInt8 { offset < bytes.count ? bytes[offset] : 0 }

    public func uint64(_ offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(byte(offset + $1)) << (8 * UInt64($1)) }
    }

    public func uint32(_ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(byte(offset + $1)) << (8 * UInt32($1)) }
    }

    /// The bytes from `offset` on (empty past the end).
    public func rest(from offset: Int) -> UnsafeRawBufferPointer {
        offset < bytes.count ? UnsafeRawBufferPointer(rebasing: bytes[offset...]) : UnsafeRawBufferPointer(start: nil, count: 0)
    }
}

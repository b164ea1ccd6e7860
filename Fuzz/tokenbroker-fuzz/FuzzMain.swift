import CLibFuzzer
import Foundation

/// The fuzzing entry point (issue 12): one program, one target per parser that reads
/// bytes from outside, chosen by `TOKENBROKER_FUZZ_TARGET`.
///
/// Built with `-sanitize=fuzzer,address -DTOKENBROKER_FUZZING` (scripts/fuzz.sh) it hands
/// its arguments to libFuzzer. Built normally it replays inputs: each argument is a file,
/// or a directory of files, run once through the target, so `swift run tokenbroker-fuzz`
/// checks a corpus and every crash file kept as a regression without libFuzzer.
@main
struct FuzzMain {
    static func main() {
        let name = ProcessInfo.processInfo.environment["TOKENBROKER_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("set TOKENBROKER_FUZZ_TARGET to one of: \(names)\n".utf8))
            exit(64)
        }
        selectedTarget = target
        #if TOKENBROKER_FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        let status = withUnsafeMutablePointer(to: &argv) { argvPointer in
            argvPointer.withMemoryRebound(to: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?.self, capacity: 1) {
                LLVMFuzzerRunDriver(&argc, $0) { data, size in
                    selectedTarget.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
                    return 0
                }
            }
        }
        exit(status)
        #else
        var inputs = 0
        for path in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("no such file: \(path)\n".utf8))
                exit(66)
            }
            let files =
                isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 } : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                target.run([UInt8](data))
                inputs += 1
            }
        }
        print("\(target.rawValue): \(inputs) inputs, no crash")
        #endif
    }
}

/// The target libFuzzer's callback runs (a C callback captures nothing).
nonisolated(unsafe) var selectedTarget = FuzzTarget.urls

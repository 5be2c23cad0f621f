import Foundation
import XCTest

/// Runs one test of this test binary in a new process, for tests that kill a
/// child mid-work (`CheckpointCrashTests`, `TrainerCrashResumeTests`).
enum ChildTestProcess {
    /// The executable and arguments that run only `test` ("Module.Class/testName").
    ///
    /// - Throws: `XCTSkip` when the test executable cannot be found.
    static func command(running test: String, bundleOf type: AnyClass) throws -> (executable: String, arguments: [String]) {
        #if os(Linux)
        // swift-corelibs-xctest: the test binary itself, given the test to run.
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw XCTSkip("cannot find the test executable (\(executable))")
        }
        return (executable, [test])
        #else
        // Xcode's XCTest: the xctest runner, given the bundle.
        return ("/usr/bin/xcrun", ["xctest", "-XCTest", test, Bundle(for: type).bundlePath])
        #endif
    }

    /// A started child running only `test` with `environment` added to this
    /// process's, its output discarded.
    static func launch(_ test: String, bundleOf type: AnyClass, environment: [String: String]) throws -> Process {
        let (executable, arguments) = try command(running: test, bundleOf: type)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: executable)
        child.arguments = arguments
        child.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        return child
    }

    /// The inode of `path`, or nil when there is no file: each atomic write
    /// renames a new file over the path, so a new inode means a completed write.
    static func inode(_ path: String) -> UInt64? {
        var status = stat()
        return stat(path, &status) == 0 ? UInt64(status.st_ino) : nil
    }
}

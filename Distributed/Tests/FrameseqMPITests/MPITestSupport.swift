import Foundation
import FrameSequencing
import XCTest

/// A finished `mpirun` (or `frameseq-mpi` alone): its status, output and time.
struct JobResult {
    var status: Int32
    var out: String
    var err: String
    var seconds: Double
    var timedOut: Bool
}

enum MPIJob {
    /// frameseq-mpi beside this test executable (SwiftPM builds both into one folder).
    static var executable: String {
        URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0])
            .deletingLastPathComponent().appendingPathComponent("frameseq-mpi").path
    }

    /// mpirun, or a skip when Open MPI is not installed (CI installs it).
    static func mpirun() throws -> String {
        for path in ["/usr/bin/mpirun", "/usr/local/bin/mpirun"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw XCTSkip("mpirun not found: apt-get install openmpi-bin libopenmpi-dev")
    }

    /// `mpirun -np <ranks> frameseq-mpi train <arguments>` on loopback TCP,
    /// one thread a rank; `segments` adds more `: -np 1 frameseq-mpi ...` parts
    /// (MPMD, for ranks started differently). Killed after `deadline` seconds.
    static func run(ranks: Int, _ arguments: [String], segments: [[String]] = [], environment: [String: String] = [:],
                    deadline: Double = 300) throws -> JobResult {
        var command = ["--oversubscribe", "--bind-to", "none", "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo",
                       "--mca", "oob_tcp_if_include", "lo"]
        for name in environment.keys.sorted() { command += ["-x", name] }
        command += ["-x", "FRAMESEQ_THREADS", "-np", String(ranks), executable, "train"] + arguments
        for segment in segments { command += [":", "-np", "1", executable, "train"] + segment }
        var environment = environment
        environment["FRAMESEQ_THREADS"] = "1"
        return try launch(try mpirun(), command, environment: environment, deadline: deadline)
    }

    /// `frameseq-mpi train <arguments>` alone (a job of one rank, no mpirun).
    static func alone(_ arguments: [String], deadline: Double = 300) throws -> JobResult {
        try launch(executable, ["train"] + arguments, environment: [:], deadline: deadline)
    }

    private static func launch(_ program: String, _ arguments: [String], environment: [String: String],
                               deadline: Double) throws -> JobResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if getuid() == 0 {   // CI runs as root, which mpirun refuses without these
            merged["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
            merged["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        }
        process.environment = merged
        let folder = NSTemporaryDirectory() + "frameseq-mpi-job-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        FileManager.default.createFile(atPath: folder + "/out", contents: nil)
        FileManager.default.createFile(atPath: folder + "/err", contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/err"))
        let started = Date()
        try process.run()
        var timedOut = false
        while process.isRunning {
            if Date().timeIntervalSince(started) > deadline {
                timedOut = true
                process.terminate()
                Thread.sleep(forTimeInterval: 2)
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.waitUntilExit()
        let read = { (name: String) in (try? String(contentsOfFile: folder + "/" + name, encoding: .utf8)) ?? "" }
        return JobResult(status: process.terminationStatus, out: read("out"), err: read("err"),
                         seconds: Date().timeIntervalSince(started), timedOut: timedOut)
    }
}

/// A fresh temporary folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "frameseq-mpi-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// `count` frames of `size` x `size` x 1: a 4x4 bright square bouncing off the
/// edges, as an NPY file of bytes; returns its path.
func writeBouncingSquare(in folder: String, count: Int = 60, size: Int = 16, start: Int = 3,
                         name: String = "frames.npy") throws -> String {
    var bytes = [UInt8](repeating: 0, count: count * size * size)
    var (x, y, dx, dy) = (start, start + 2, 1, 1)
    for frame in 0 ..< count {
        for row in y ..< y + 4 { for column in x ..< x + 4 { bytes[(frame * size + row) * size + column] = 255 } }
        (x, y) = (x + dx, y + dy)
        if x <= 0 || x >= size - 4 { dx = -dx }
        if y <= 0 || y >= size - 4 { dy = -dy }
    }
    let path = folder + "/" + name
    try NPY.write(try NumericArray(shape: [count, size, size, 1], data: .uint8(bytes)), to: path)
    return path
}

import Foundation
import FrameSequencing
import Recurrent
import XCTest

/// A process killed (SIGKILL) while writing a checkpoint leaves the previous
/// complete checkpoint or the new complete one at the path, never a torn file.
///
/// The test re-launches this test binary running only
/// ``testHelperWritesCheckpointsUntilKilled``, which, with
/// `FRAMESEQ_CRASH_CHECKPOINT_PATH` set, writes two alternating 16 MB
/// checkpoints to that path in a loop; the parent waits for one complete write,
/// sleeps a random 0-400 ms, kills the child, and loads what is there.
final class CheckpointCrashTests: XCTestCase {
    static let pathVariable = "FRAMESEQ_CRASH_CHECKPOINT_PATH"
    /// Parameters per checkpoint: 16 MB, so a write takes long enough to be interrupted.
    static let parameterCount = 4 << 20

    /// Checkpoint `version` (1 or 2): every parameter `version`, epoch `version`.
    static func checkpoint(_ version: Int) throws -> Checkpoint {
        var checkpoint = Checkpoint(model: try Dense(inputSize: 1, outputSize: 1), epoch: version, step: 10 * version)
        checkpoint.parameters = [("weights", try Tensor(shape: [parameterCount], repeating: Float(version)))]
        return checkpoint
    }

    /// The child: writes checkpoints 1, 2, 1, 2, ... to the path until killed
    /// (or for 20 s, so an orphan stops by itself). Skipped without the variable.
    func testHelperWritesCheckpointsUntilKilled() throws {
        guard let path = ProcessInfo.processInfo.environment[Self.pathVariable] else {
            throw XCTSkip("runs only as the child of testAKilledWriterLeavesACompleteCheckpoint")
        }
        let versions = [try Self.checkpoint(1), try Self.checkpoint(2)]
        let deadline = Date().addingTimeInterval(20)
        var round = 0
        while Date() < deadline {
            try versions[round % 2].write(to: path)
            round += 1
        }
    }

    func testAKilledWriterLeavesACompleteCheckpoint() throws {
        let directory = NSTemporaryDirectory() + "frameseq-crash-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/checkpoint.safetensors"
        let expected = [1: try Self.checkpoint(1), 2: try Self.checkpoint(2)]
        var seenVersions = Set<Int>(), interrupted = 0

        for round in 0 ..< 3 {
            let child = try ChildTestProcess.launch("RecurrentTests.CheckpointCrashTests/testHelperWritesCheckpointsUntilKilled",
                                                    bundleOf: Self.self, environment: [Self.pathVariable: path])
            defer { if child.isRunning { kill(child.processIdentifier, SIGKILL) } }

            // Wait for a complete checkpoint that this child wrote (each round
            // starts from the last round's file, so wait for a new inode).
            let before = ChildTestProcess.inode(path)
            let deadline = Date().addingTimeInterval(8)
            while ChildTestProcess.inode(path) == before || ChildTestProcess.inode(path) == nil {
                guard child.isRunning, Date() < deadline else {
                    return XCTFail("round \(round): the child wrote no checkpoint (exit status \(child.isRunning ? -1 : child.terminationStatus))")
                }
                usleep(2_000)
            }
            let delay = UInt32.random(in: 0 ... 400_000)
            usleep(delay)
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            XCTAssertEqual(child.terminationReason, .uncaughtSignal, "round \(round): the child was not killed")

            // Whatever was in flight, the path holds one of the two complete checkpoints.
            let loaded = try Checkpoint.read(contentsOf: path)
            let version = loaded.epoch
            let reference = try XCTUnwrap(expected[version], "round \(round): epoch \(version)")
            XCTAssertEqual(loaded.step, reference.step)
            XCTAssertEqual(loaded.parameters.map(\.name), ["weights"])
            XCTAssertEqual(loaded.parameters.first?.tensor, reference.parameters[0].tensor,
                           "round \(round), killed after \(delay) us: checkpoint \(version) is not the one written")
            seenVersions.insert(version)
            // A write the kill interrupted may leave its temporary file; never another name.
            let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            let temporary = names.filter { $0.hasPrefix(".checkpoint.safetensors.") && $0.hasSuffix(".tmp") }
            XCTAssertEqual(Set(names).subtracting(temporary), ["checkpoint.safetensors"], "round \(round)")
            interrupted += temporary.isEmpty ? 0 : 1
            for name in temporary { try FileManager.default.removeItem(atPath: directory + "/" + name) }
        }
        print("killed 3 writers, \(interrupted) mid-write; the path held checkpoint(s) \(seenVersions.sorted())")
    }

    /// Every writer replaces the file by renaming a finished temporary file
    /// over it: a hard link to the old file keeps the old content (a writer
    /// that wrote in place would change it), and when the rename fails the
    /// temporary file is removed.
    func testEveryWriterReplacesTheFileAndCleansUpWhenItFails() throws {
        let directory = NSTemporaryDirectory() + "frameseq-writers-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/taken/inner", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let image = try ByteImage(shape: FrameShape(height: 2, width: 3, channels: 1), pixels: Array(0 ..< 6))
        let array = try NumericArray(shape: [2, 2], data: .float32([1, 2, 3, 4]))
        let writers: [(String, (String) throws -> Void)] = [
            ("npy", { try NPY.write(array, to: $0) }),
            ("safetensors", { try SafeTensors([.init(name: "a", array: array)]).write(to: $0) }),
            ("png", { try PNG.write(image, to: $0) }),
            ("pgm", { try PNM.write(image, to: $0) }),
            ("checkpoint", { try Self.checkpoint(1).write(to: $0) }),
        ]
        for (name, write) in writers {
            let path = directory + "/file." + name
            let link = directory + "/link." + name
            try Data([7, 7, 7]).write(to: URL(fileURLWithPath: path))
            try FileManager.default.linkItem(atPath: path, toPath: link)
            try write(path)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: link)), Data([7, 7, 7]), "\(name) wrote into the old file")
            XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data([7, 7, 7]), name)
            XCTAssertThrowsError(try write(directory + "/taken"), "\(name) replaced a directory")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(left, [], "temporary files left after failed writes")
    }
}

import Foundation
import FrameSequencing
import Recurrent
import XCTest

/// A training process killed (SIGKILL) inside an epoch leaves a complete
/// checkpoint, and a run resumed from it ends bit for bit as an uninterrupted one.
///
/// The test re-launches this test binary running only
/// ``testHelperTrainsWithIntervalCheckpointsUntilKilled``, which, with
/// `FRAMESEQ_CRASH_TRAINING_PATH` set, fits ``ResumeRun`` with a checkpoint
/// every 5 ms (steps slowed to 25 ms, epoch checkpoints off, so every file is
/// written inside an epoch); the parent waits for the first checkpoint, waits a
/// random 0-400 ms more, kills the child, resumes a fresh trainer from the file
/// and finishes the run.
final class TrainerCrashResumeTests: XCTestCase {
    static let pathVariable = "FRAMESEQ_CRASH_TRAINING_PATH"

    static func policy(_ path: String) -> CheckpointPolicy {
        CheckpointPolicy(path: path, everyEpoch: false, interval: .milliseconds(5), metadata: ["model": "fc_lstm"])
    }

    /// The child: the run with interval checkpoints, each step slowed so that a
    /// kill finds it training. Skipped without the variable.
    func testHelperTrainsWithIntervalCheckpointsUntilKilled() throws {
        guard let path = ProcessInfo.processInfo.environment[Self.pathVariable] else {
            throw XCTSkip("runs only as the child of testAKilledTrainingRunResumesBitForBit")
        }
        var trainer = try ResumeRun.trainer()
        try trainer.fit(try ResumeRun.windows(), options: ResumeRun.options(checkpoint: Self.policy(path))) { _ in
            usleep(25_000)
            return true
        }
    }

    func testAKilledTrainingRunResumesBitForBit() throws {
        let reference = try ResumeRun.uninterrupted()
        let directory = NSTemporaryDirectory() + "frameseq-train-crash-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var positions: [String] = []

        for round in 0 ..< 3 {
            let path = directory + "/round\(round).safetensors"
            let child = try ChildTestProcess.launch("RecurrentTests.TrainerCrashResumeTests/testHelperTrainsWithIntervalCheckpointsUntilKilled",
                                                    bundleOf: Self.self, environment: [Self.pathVariable: path])
            defer { if child.isRunning { kill(child.processIdentifier, SIGKILL) } }
            let deadline = Date().addingTimeInterval(20)
            while ChildTestProcess.inode(path) == nil {
                guard child.isRunning, Date() < deadline else {
                    return XCTFail("round \(round): the child wrote no checkpoint (exit status \(child.isRunning ? -1 : child.terminationStatus))")
                }
                usleep(1_000)
            }
            // Rounds kill early, midway and late in the run (21 steps of at least 25 ms).
            let delay = UInt32.random(in: [0 ... 50_000, 120_000 ... 220_000, 300_000 ... 400_000][round])
            usleep(delay)
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            XCTAssertEqual(child.terminationReason, .uncaughtSignal, "round \(round): the child finished before the kill")

            // The file is complete (it reads), and is the only one but for a
            // temporary file of a write the kill interrupted.
            let saved = try Checkpoint.read(contentsOf: path)
            let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            XCTAssertEqual(Set(names.filter { !$0.hasSuffix(".tmp") }), ["round\(round).safetensors"], "round \(round)")
            XCTAssertEqual(saved.metadata["model"], "fc_lstm")

            var resumed = try ResumeRun.trainer(seed: 77, learningRate: 0.5)
            try resumed.resume(from: saved)
            XCTAssertGreaterThan(resumed.batchesDoneInEpoch, 0, "round \(round): a checkpoint from inside an epoch")
            XCTAssertLessThan(resumed.step, reference.step, "round \(round): killed before the end")
            positions.append("epoch \(resumed.epoch + 1) batch \(resumed.batchesDoneInEpoch) (killed \(delay / 1000) ms after the first write)")
            try resumed.fit(try ResumeRun.windows(),
                            options: ResumeRun.options(epochs: ResumeRun.epochs - resumed.epoch, checkpoint: Self.policy(path)))
            ResumeRun.assertIdentical(resumed, reference, "round \(round)")
            for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
                try FileManager.default.removeItem(atPath: directory + "/" + name)
            }
        }
        print("resumed bit for bit from checkpoints after " + positions.joined(separator: "; "))
    }
}

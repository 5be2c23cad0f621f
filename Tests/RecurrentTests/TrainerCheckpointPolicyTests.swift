import Foundation
import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// When `fit` writes checkpoints under a ``CheckpointPolicy``, what it refuses
/// before the first step, and how a failed write stops training.
final class TrainerCheckpointPolicyTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = try TestData.temporaryDirectory("trainer-policy")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The checkpoint at `path` when there is one.
    func saved(_ path: String) throws -> Checkpoint? {
        FileManager.default.fileExists(atPath: path) ? try Checkpoint.read(contentsOf: path) : nil
    }

    func testEpochCheckpointsAreWrittenAtEachEpochsEndBeforeItsCallback() throws {
        let path = directory + "/epochs.safetensors"
        var trainer = try ResumeRun.trainer()
        var stepsSeen = 0, epochsSeen = 0
        try trainer.fit(try ResumeRun.windows(), options: ResumeRun.options(
            checkpoint: CheckpointPolicy(path: path, metadata: ["model": "fc_lstm", "hidden": "6"]))) { event in
            switch event {
            case .step(let epoch, _, _, _):
                // Only the previous epoch's end is on disk inside an epoch.
                XCTAssertEqual(try self.saved(path)?.epoch, epoch == 1 ? nil : epoch - 1)
                stepsSeen += 1
            case .epoch(let summary):
                let checkpoint = try XCTUnwrap(try self.saved(path))
                XCTAssertEqual([checkpoint.epoch, checkpoint.step], [summary.epoch, summary.epoch * ResumeRun.batchesPerEpoch])
                XCTAssertEqual(checkpoint.metadata["batches_done_in_epoch"], "0")
                XCTAssertEqual(checkpoint.metadata["model"], "fc_lstm")
                XCTAssertEqual(checkpoint.metadata["hidden"], "6")
                epochsSeen += 1
            }
            return true
        }
        XCTAssertEqual([stepsSeen, epochsSeen], [ResumeRun.epochs * ResumeRun.batchesPerEpoch, ResumeRun.epochs])
    }

    func testIntervalCheckpointsAreWrittenAtTheStepAfterTheInterval() throws {
        // Interval zero with epoch checkpoints: every step writes before its callback,
        // but an epoch's last step leaves the write to the epoch's end (its callback
        // sees the previous step's file).
        let path = directory + "/steps.safetensors"
        var trainer = try ResumeRun.trainer()
        try trainer.fit(try ResumeRun.windows(), options: ResumeRun.options(
            checkpoint: CheckpointPolicy(path: path, interval: .zero))) { event in
            guard case let .step(epoch, step, _, _) = event else { return true }
            let checkpoint = try XCTUnwrap(try self.saved(path))
            let lastOfEpoch = step % ResumeRun.batchesPerEpoch == 0
            XCTAssertEqual(checkpoint.step, lastOfEpoch ? step - 1 : step, "step \(step)")
            XCTAssertEqual(checkpoint.epoch, epoch - 1)
            return true
        }

        // An interval longer than the run, without epoch checkpoints: nothing written.
        let never = directory + "/never.safetensors"
        var slow = try ResumeRun.trainer()
        try slow.fit(try ResumeRun.windows(), options: ResumeRun.options(
            checkpoint: CheckpointPolicy(path: never, everyEpoch: false, interval: .seconds(3600))))
        XCTAssertFalse(FileManager.default.fileExists(atPath: never))

        // A 200 ms interval over steps slowed to 60 ms: a write every few steps, not every one.
        let timed = directory + "/timed.safetensors"
        var timedTrainer = try ResumeRun.trainer()
        var written: [Int] = []
        try timedTrainer.fit(try ResumeRun.windows(), options: ResumeRun.options(
            epochs: 1, checkpoint: CheckpointPolicy(path: timed, everyEpoch: false, interval: .milliseconds(200)))) { event in
            guard case .step = event else { return true }
            if let step = try self.saved(timed)?.step, step != written.last { written.append(step) }
            usleep(60_000)
            return true
        }
        print("200 ms interval, 60 ms steps: checkpoints after steps \(written)")
        XCTAssertFalse(written.isEmpty)
        XCTAssertLessThan(written.count, ResumeRun.batchesPerEpoch - 1)
        XCTAssertGreaterThan(written.first ?? 0, 1, "the first write waits for the interval")
    }

    func testAFailedWriteStopsTrainingWithTheErrorNamingThePath() throws {
        let folder = directory + "/gone"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/run.safetensors"
        var trainer = try ResumeRun.trainer()
        XCTAssertThrowsError(try trainer.fit(try ResumeRun.windows(), options: ResumeRun.options(
            checkpoint: CheckpointPolicy(path: path, interval: .zero))) { event in
            // The folder vanishes after step 3's checkpoint: step 4's write fails.
            if case .step(_, 3, _, _) = event { try FileManager.default.removeItem(atPath: folder) }
            return true
        }) { error in
            guard case let .fileSystem(errorPath, operation, reason)? = error as? FrameSequencingError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(errorPath, path)
            print("failed write: \(error) (\(operation), \(reason))")
        }
        XCTAssertEqual([trainer.epoch, trainer.step, trainer.batchesDoneInEpoch], [0, 4, 4],
                       "the step whose write failed is kept; training stopped there")
    }

    func testPoliciesThatCannotWriteAreRefusedBeforeTheFirstStep() throws {
        try FileManager.default.createDirectory(atPath: directory + "/folder", withIntermediateDirectories: true)
        let refused: [(CheckpointPolicy, String)] = [
            (CheckpointPolicy(path: directory + "/missing/run.safetensors"), "missing directory"),
            (CheckpointPolicy(path: directory + "/folder"), "a directory"),
            (CheckpointPolicy(path: ""), "empty path"),
            (CheckpointPolicy(path: directory + "/a", interval: .seconds(-1)), "negative interval"),
            (CheckpointPolicy(path: directory + "/a", everyEpoch: false), "never writes"),
            (CheckpointPolicy(path: directory + "/a", metadata: ["epoch": "3"]), "the format's key"),
            (CheckpointPolicy(path: directory + "/a", metadata: ["optim.adam.lr": "3"]), "an optimizer key"),
            (CheckpointPolicy(path: directory + "/a", metadata: ["history": "[]"]), "the trainer's key"),
        ]
        for (policy, label) in refused {
            var trainer = try ResumeRun.trainer()
            XCTAssertThrowsError(try trainer.fit(try ResumeRun.windows(), options: ResumeRun.options(checkpoint: policy)), label) {
                print("\(label): \($0)")
                switch $0 {
                case FrameSequencingError.fileSystem(let path, _, _): XCTAssertEqual(path, policy.path, label)
                case RecurrentError.invalidArgument: break
                default: XCTFail("\(label): \($0)")
                }
            }
            XCTAssertEqual(trainer.step, 0, "\(label): refused before the first step")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/a"))
    }
}

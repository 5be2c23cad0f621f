import Foundation
import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// Resuming inside an epoch: a run stopped after an interval checkpoint and
/// finished from the file equals the uninterrupted run bit for bit, and resume
/// refuses what does not fit, naming the key, the expected and the actual value.
final class TrainerResumeTests: XCTestCase {
    func testStoppedInsideAnEpochAfterAnIntervalCheckpointResumesBitForBit() throws {
        let windows = try ResumeRun.windows()
        let reference = try ResumeRun.uninterrupted()
        XCTAssertEqual(reference.step, ResumeRun.epochs * ResumeRun.batchesPerEpoch)
        let directory = try TestData.temporaryDirectory("trainer-interval")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/run.safetensors"

        // Interval zero and no epoch checkpoints: a file after every step, written
        // before the step's callback. The callback keeps the one of step 7 (every
        // batch of epoch 1 done, its validation not yet run) and of step 10 (batch 3
        // of epoch 2), and stops at step 13, so a resume redoes steps 11 to 13.
        var interrupted = try ResumeRun.trainer()
        let policy = CheckpointPolicy(path: path, everyEpoch: false, interval: .zero, metadata: ["run": "sine"])
        let partial = try interrupted.fit(windows, options: ResumeRun.options(checkpoint: policy)) { event in
            guard case let .step(_, step, _, _) = event else { return true }
            if step == 7 || step == 10 { try FileManager.default.copyItem(atPath: path, toPath: directory + "/step\(step)") }
            return step < 13
        }
        XCTAssertEqual(partial.map(\.epoch), [1])
        XCTAssertEqual([interrupted.epoch, interrupted.step, interrupted.batchesDoneInEpoch], [1, 13, 6])

        for (snapshot, position) in [(10, [1, 10, 3]), (7, [0, 7, 7])] {
            let saved = try Checkpoint.read(contentsOf: directory + "/step\(snapshot)")
            XCTAssertEqual(saved.metadata["run"], "sine", "the caller's metadata is stored")
            var resumed = try ResumeRun.trainer(seed: 77, learningRate: 0.5)   // every value replaced by the resume
            try resumed.resume(from: saved)
            XCTAssertEqual([resumed.epoch, resumed.step, resumed.batchesDoneInEpoch], position, "step \(snapshot)")
            XCTAssertEqual(ResumeRun.timeless(resumed.history), ResumeRun.timeless(Array(reference.history.prefix(resumed.epoch))))
            let finished = try resumed.fit(windows, options: ResumeRun.options(epochs: ResumeRun.epochs - resumed.epoch))
            XCTAssertEqual(finished.map(\.epoch), Array(resumed.epoch - finished.count + 1 ... ResumeRun.epochs))
            ResumeRun.assertIdentical(resumed, reference, "resumed from step \(snapshot)")
        }

        // The trainer the callback stopped continues inside its epoch in memory too.
        try interrupted.fit(windows, options: ResumeRun.options(epochs: ResumeRun.epochs - interrupted.epoch))
        ResumeRun.assertIdentical(interrupted, reference, "continued in memory")
    }

    /// Early stopping counts over the history, so a run resumed after epoch 2
    /// stops after epoch 3 as the uninterrupted one does (learning rate 0: the
    /// validation loss never improves after epoch 1), and a run that stopped stays stopped.
    func testEarlyStoppingCountsOverTheHistoryAcrossAResume() throws {
        let windows = try ResumeRun.windows()
        var options = ResumeRun.options(epochs: 10)
        options.earlyStoppingPatience = 2
        func frozen(seed: UInt64 = 2) throws -> Trainer<CNNLSTM, Adam> {
            var trainer = try ResumeRun.trainer(seed: seed, learningRate: 0)
            trainer.schedule = ConstantSchedule()
            return trainer
        }
        var straight = try frozen()
        XCTAssertEqual(try straight.fit(windows, options: options).map(\.epoch), [1, 2, 3])

        var first = try frozen()
        try first.fit(windows, options: options) { event in
            if case .epoch(let summary) = event { return summary.epoch < 2 }
            return true
        }
        var resumed = try frozen(seed: 8)
        try resumed.resume(from: first.checkpoint())
        options.epochs = 10 - resumed.epoch
        XCTAssertEqual(try resumed.fit(windows, options: options).map(\.epoch), [3], "stopped where the uninterrupted run did")
        XCTAssertEqual(ResumeRun.timeless(resumed.history), ResumeRun.timeless(straight.history))
        XCTAssertEqual(try straight.fit(windows, options: options), [], "a run that stopped early stays stopped")
        options.earlyStoppingPatience = 3
        XCTAssertEqual(try straight.fit(windows, options: options).map(\.epoch), [4], "a larger patience trains one more epoch")
    }

    /// A checkpoint taken after step 10: epoch 1 finished, 3 batches of epoch 2 done.
    func midEpochCheckpoint() throws -> Checkpoint {
        var trainer = try ResumeRun.trainer()
        try trainer.fit(try ResumeRun.windows(), options: ResumeRun.options()) { event in
            guard case let .step(_, step, _, _) = event else { return true }
            return step < 10
        }
        return trainer.checkpoint()
    }

    func assertUntouched(_ trainer: Trainer<CNNLSTM, Adam>, _ fresh: Trainer<CNNLSTM, Adam>, _ label: String,
                         line: UInt = #line) {
        XCTAssertEqual([trainer.epoch, trainer.step, trainer.batchesDoneInEpoch], [0, 0, 0], label, line: line)
        XCTAssertEqual(trainer.history, [], label, line: line)
        XCTAssertEqual(trainer.model.namedParameters.map(\.tensor), fresh.model.namedParameters.map(\.tensor), label, line: line)
        XCTAssertEqual(trainer.optimizer.learningRate, fresh.optimizer.learningRate, label, line: line)
    }

    func testResumeRefusesACheckpointOfAnotherModel() throws {
        let checkpoint = try midEpochCheckpoint()

        // Same layers, other sizes: the first parameter whose shape differs.
        let fresh = try ResumeRun.trainer(hiddenSize: 4)
        var smaller = fresh
        XCTAssertThrowsError(try smaller.resume(from: checkpoint)) { error in
            XCTAssertEqual(error as? RecurrentError,
                           .shapeMismatch(name: "Parameter 'lstm.weight_ih_l0'", expected: [16, 1], actual: [24, 1]), "\(error)")
        }
        assertUntouched(smaller, fresh, "other sizes")

        // Other layers: parameters by other names.
        var convolutional = try Trainer(model: try ConvLSTMForecaster(frameHeight: 1, frameWidth: 1, channels: 1, filters: [2],
                                                                      horizon: 1, seed: 1),
                                        optimizer: try Adam(learningRate: 0.01), loss: MeanSquaredError())
        XCTAssertThrowsError(try convolutional.resume(from: checkpoint)) { error in
            guard case let .invalidArgument(name, expected, actual)? = error as? RecurrentError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "checkpoint parameters")
            XCTAssertEqual(expected, "only the model's parameters")
            XCTAssert(actual.contains("more, such as"), actual)
        }
        XCTAssertEqual(convolutional.step, 0)

        // The same model with another optimizer: its state does not import.
        var withSGD = try Trainer(model: try ResumeRun.trainer().model, optimizer: try SGD(learningRate: 0.1),
                                  loss: MeanSquaredError())
        XCTAssertThrowsError(try withSGD.resume(from: checkpoint)) { print("another optimizer: \($0)") }
        XCTAssertEqual(withSGD.step, 0)
    }

    func testResumeRefusesACorruptOrInconsistentPositionNamingTheKey() throws {
        let checkpoint = try midEpochCheckpoint()
        XCTAssertEqual(checkpoint.metadata["batches_done_in_epoch"], "3")
        let directory = try TestData.temporaryDirectory("trainer-corrupt")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        typealias Key = Checkpoint.TrainerKey
        let summary = #"{"epoch":1,"learning_rate":0.01,"seconds":0.1,"training_loss":0.5}"#
        let cases: [(Key, String?, expected: String, actual: String)] = [
            (.batchesDoneInEpoch, "three", "a whole number from 0 to the checkpoint's step 10", "'three'"),
            (.batchesDoneInEpoch, "-1", "a whole number from 0 to the checkpoint's step 10", "'-1'"),
            (.batchesDoneInEpoch, "11", "a whole number from 0 to the checkpoint's step 10", "'11'"),
            (.epochLossSum, "nan", "a finite number", "'nan'"),
            (.epochLossSum, nil, "the loss sum of the 3 batches done", "none"),
            (.epochSeconds, "-2", "a finite number >= 0", "'-2'"),
            (.initialLearningRate, "fast", "a finite rate >= 0", "'fast'"),
            (.history, #"[{"epoch": 1"#, "a JSON array of epoch summaries", #"'[{"epoch": 1'"#),
            (.history, summary, "a JSON array of epoch summaries", "'\(summary)'"),
            (.history, #"[{"epoch":1,"seconds":0.1,"training_loss":0.5}]"#, "a JSON array of epoch summaries", "learning_rate"),
            (.history, "[]", "1 summaries numbered 1 to 1 (the checkpoint's epoch)", "0 numbered []"),
            (.history, "[\(summary.replacingOccurrences(of: #""epoch":1"#, with: #""epoch":2"#))]",
             "1 summaries numbered 1 to 1 (the checkpoint's epoch)", "1 numbered [2]"),
            (.history, "[\(summary),\(summary)]", "1 summaries numbered 1 to 1 (the checkpoint's epoch)", "2 numbered [1, 1]"),
        ]
        let fresh = try ResumeRun.trainer(seed: 5)
        for (index, (key, value, expected, actual)) in cases.enumerated() {
            var corrupt = checkpoint
            corrupt.metadata[key.rawValue] = value
            // Through a file, as a resumed run reads it.
            let path = directory + "/case\(index).safetensors"
            try corrupt.write(to: path)
            var trainer = fresh
            XCTAssertThrowsError(try trainer.resume(from: try Checkpoint.read(contentsOf: path)), "case \(index)") { error in
                guard case let .invalidArgument(name, gotExpected, gotActual)? = error as? RecurrentError else {
                    return XCTFail("case \(index): \(error)")
                }
                XCTAssertEqual(name, "checkpoint metadata '\(key.rawValue)'", "case \(index)")
                XCTAssertEqual(gotExpected, expected, "case \(index)")
                XCTAssert(gotActual.hasPrefix(actual) || gotActual.contains(actual), "case \(index): \(gotActual)")
                XCTAssert("\(error)".hasPrefix("Invalid checkpoint metadata '\(key.rawValue)': expected \(expected), got"),
                          "case \(index): \(error)")
            }
            assertUntouched(trainer, fresh, "case \(index)")
        }

        // At an epoch's start the loss sum must be 0.
        var boundary = checkpoint
        boundary.metadata[Key.batchesDoneInEpoch.rawValue] = "0"
        var trainer = fresh
        XCTAssertThrowsError(try trainer.resume(from: boundary)) {
            XCTAssertEqual($0 as? RecurrentError, .invalidArgument(name: "checkpoint metadata 'epoch_loss_sum'",
                                                                 expected: "0, as no batch of the epoch is done",
                                                                 actual: "'\(checkpoint.metadata["epoch_loss_sum"]!)'"))
        }
    }

    /// A position that the windows and batch size of the next fit cannot hold:
    /// 3 batches done of an epoch that now has 2.
    func testFitRefusesAPositionBeyondTheEpochsBatches() throws {
        var trainer = try ResumeRun.trainer()
        try trainer.resume(from: try midEpochCheckpoint())
        var options = ResumeRun.options(epochs: 1)
        options.batchSize = 32
        XCTAssertThrowsError(try trainer.fit(try ResumeRun.windows(), options: options)) {
            XCTAssertEqual($0 as? RecurrentError, .invalidArgument(
                name: "position in epoch 2", expected: "at most the epoch's 2 batches done",
                actual: "3 (the windows or the batch size differ from the run the checkpoint comes from)"))
        }
        XCTAssertEqual(trainer.step, 10, "nothing trained")
    }

    /// Checkpoints without the trainer's keys (older files, or made with
    /// `Checkpoint(model:...)`) resume at the start of the next epoch with no history.
    func testACheckpointWithoutThePositionResumesAtTheEpochsStart() throws {
        var source = try ResumeRun.trainer()
        try source.fit(try ResumeRun.windows(), options: ResumeRun.options(epochs: 1))
        var plain = Checkpoint(model: source.model, optimizerState: source.optimizer.exportState(), epoch: 1, step: 7)
        plain.metadata["initial_learning_rate"] = "0.01"
        var resumed = try ResumeRun.trainer(seed: 9)
        try resumed.resume(from: plain)
        XCTAssertEqual([resumed.epoch, resumed.step, resumed.batchesDoneInEpoch], [1, 7, 0])
        XCTAssertEqual(resumed.history, [])
        try resumed.fit(try ResumeRun.windows(), options: ResumeRun.options(epochs: 2))
        let reference = try ResumeRun.uninterrupted()
        XCTAssertEqual(resumed.model.namedParameters.map(\.tensor), reference.model.namedParameters.map(\.tensor))
        XCTAssertEqual(ResumeRun.timeless(resumed.history), ResumeRun.timeless(Array(reference.history.dropFirst())))
    }

    /// The history's numbers come back bit for bit through a checkpoint file:
    /// random bit patterns, extremes, non-finite validation losses, no validation.
    func testTheHistoryRoundTripsBitForBitThroughAFile() throws {
        var generator = SeededGenerator(seed: 3)
        // Any bit pattern but NaN's (whose payload JSON does not keep).
        func float() -> Float {
            let value = Float(bitPattern: UInt32.random(in: 0 ... .max, using: &generator))
            return value.isNaN ? 1 : value
        }
        func double() -> Double {
            let value = Double(bitPattern: UInt64.random(in: 0 ... .max, using: &generator))
            return value.isNaN ? 1 : value
        }
        let special: [Float?] = [nil, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, -.greatestFiniteMagnitude, -0.0]
        var history: [EpochSummary] = []
        for epoch in 1 ... 500 {
            history.append(EpochSummary(epoch: epoch, trainingLoss: float(),
                                        validationLoss: epoch % 3 == 0 ? special[epoch / 3 % special.count] : float(),
                                        learningRate: double(), seconds: abs(double())))
        }
        var trainer = try ResumeRun.trainer()
        trainer.history = history
        trainer.epoch = history.count
        let directory = try TestData.temporaryDirectory("trainer-history")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try trainer.checkpoint().write(to: directory + "/history.safetensors")
        var resumed = try ResumeRun.trainer(seed: 4)
        try resumed.resume(from: try Checkpoint.read(contentsOf: directory + "/history.safetensors"))
        XCTAssertEqual(resumed.history.count, history.count)
        for (got, want) in zip(resumed.history, history) {
            XCTAssertEqual(got.epoch, want.epoch)
            XCTAssertEqual(got.trainingLoss.bitPattern, want.trainingLoss.bitPattern, "epoch \(want.epoch) training loss")
            XCTAssertEqual(got.validationLoss.map { $0.isNaN ? 0x7FC0_0000 : $0.bitPattern },
                           want.validationLoss.map { $0.isNaN ? 0x7FC0_0000 : $0.bitPattern }, "epoch \(want.epoch) validation")
            XCTAssertEqual(got.learningRate.bitPattern, want.learningRate.bitPattern, "epoch \(want.epoch) learning rate")
            XCTAssertEqual(got.seconds.bitPattern, want.seconds.bitPattern, "epoch \(want.epoch) seconds")
        }
    }
}

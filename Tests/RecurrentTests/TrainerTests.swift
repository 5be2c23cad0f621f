import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// The training loop: learning, resuming, stopping, callbacks.
final class TrainerTests: XCTestCase {
    /// A sine wave as 1 x 1 x 1 frames, windows of 12 paired with the next value.
    func sineWindows(count: Int = 240) throws -> FrameWindows {
        let values = (0 ..< count).map { 0.5 + 0.4 * sin(Float($0) * 0.3) }
        let frames = try FrameStack(stacked: values, frameShape: try FrameShape(height: 1, width: 1, channels: 1))
        return try frames.windows(WindowParameters(sequenceLength: 12, target: .frameAfter(steps: 1)))
    }

    /// An FC-LSTM: flattened frames, an LSTM, a Dense head.
    func fcLSTM(seed: UInt64) throws -> CNNLSTM {
        try CNNLSTM(features: TimeDistributed(try Sequential([.flatten])), lstm: try LSTM(inputSize: 1, hiddenSize: 12, seed: seed),
                    head: try Dense(inputSize: 12, outputSize: 1, seed: seed + 1))
    }

    func testAnLSTMLearnsTheNextSineValue() throws {
        var trainer = try Trainer(model: try fcLSTM(seed: 1), optimizer: try Adam(learningRate: 0.02), loss: MeanSquaredError())
        let windows = try sineWindows()
        let before = try trainer.evaluate(windows, batchSize: 32)
        let history = try trainer.fit(windows, options: TrainingOptions(epochs: 30, batchSize: 16, shuffleSeed: 3,
                                                                        clipping: .globalNorm(maxNorm: 1)))
        let after = try trainer.evaluate(windows, batchSize: 32)
        print("sine next step: MSE \(before) -> \(after) in \(trainer.step) steps")
        XCTAssertEqual(history.count, 30)
        XCTAssertEqual(trainer.step, 30 * 15)                    // 228 windows in batches of 16
        XCTAssertLessThan(after, 1e-4, "stated target: MSE below 1e-4 within 450 steps (the signal's variance is 0.08)")
    }

    func testResumingFromACheckpointEqualsAnUninterruptedRun() throws {
        let windows = try sineWindows(count: 80)
        let options = TrainingOptions(epochs: 2, batchSize: 8, shuffleSeed: 5, clipping: .globalNorm(maxNorm: 1))
        let schedule = try StepDecay.piecewise(dropFactor: 0.5, dropPeriod: 1)
        var straight = try Trainer(model: try fcLSTM(seed: 2), optimizer: try Adam(learningRate: 0.01), loss: MeanSquaredError(),
                                   schedule: schedule)
        var fourEpochs = options
        fourEpochs.epochs = 4
        try straight.fit(windows, options: fourEpochs)

        var first = try Trainer(model: try fcLSTM(seed: 2), optimizer: try Adam(learningRate: 0.01), loss: MeanSquaredError(),
                                schedule: schedule)
        try first.fit(windows, options: options)
        let path = try TestData.temporaryDirectory("trainer-resume") + "/checkpoint.safetensors"
        try first.checkpoint().write(to: path)
        var resumed = try Trainer(model: try fcLSTM(seed: 77), optimizer: try Adam(learningRate: 0.5), loss: MeanSquaredError(),
                                  schedule: schedule)
        try resumed.resume(from: try Checkpoint.read(contentsOf: path))
        XCTAssertEqual(resumed.epoch, 2)
        try resumed.fit(windows, options: options)
        XCTAssertEqual(resumed.step, straight.step)
        for (a, b) in zip(resumed.model.namedParameters, straight.model.namedParameters) {
            XCTAssertEqual(a.tensor, b.tensor, "\(a.name) differs after resuming")
        }
    }

    func testNaNStopsTheRunNamingWhereItAppeared() throws {
        var values = (0 ..< 60).map { Float($0 % 7) / 7 }
        values[30] = .nan
        let frames = try FrameStack(stacked: values, frameShape: try FrameShape(height: 1, width: 1, channels: 1))
        let windows = try frames.windows(WindowParameters(sequenceLength: 5, target: .frameAfter(steps: 1)))
        var trainer = try Trainer(model: try fcLSTM(seed: 3), optimizer: try SGD(learningRate: 0.1), loss: MeanSquaredError())
        let parameters = trainer.model.namedParameters.map(\.tensor)
        XCTAssertThrowsError(try trainer.fit(windows, options: TrainingOptions(epochs: 1, batchSize: 4, shuffleSeed: nil))) {
            // Window 26 reads frames 26...30 and is the third of step 7's batch (windows 24...27):
            // its input at timestep 4 is flat element 2 * 5 + 4 of the (4, 5, 1) batch.
            guard case let .nonFinite(name, index, value)? = $0 as? RecurrentError else { return XCTFail("\($0)") }
            XCTAssertEqual(name, "inputs of window 26 at epoch 1, step 7")
            XCTAssertEqual(index, 14)
            XCTAssert(value.isNaN)
        }
        XCTAssertEqual(trainer.step, 6, "the steps before the first window holding the NaN ran")
        XCTAssertNotEqual(trainer.model.namedParameters.map(\.tensor), parameters)
        XCTAssertTrue(trainer.model.namedParameters.allSatisfy { $0.tensor.scalars.allSatisfy(\.isFinite) },
                      "the bad step was not applied")
    }

    func testCallbacksValidationAndEarlyStopping() throws {
        let windows = try sineWindows(count: 100)
        var trainer = try Trainer(model: try fcLSTM(seed: 4), optimizer: try SGD(learningRate: 0), loss: MeanSquaredError())
        var steps = 0, epochs: [EpochSummary] = []
        let history = try trainer.fit(windows, options: TrainingOptions(
            epochs: 10, batchSize: 8, validationFraction: 0.2, earlyStoppingPatience: 2)) { event in
            switch event {
            case .step: steps += 1
            case .epoch(let summary): epochs.append(summary)
            }
            return true
        }
        // Learning rate 0: the validation loss never improves after the first epoch.
        XCTAssertEqual(history.count, 3)
        XCTAssertEqual(epochs, history)
        XCTAssertEqual(steps, 3 * 9)                              // 88 windows, 70 for training, batches of 8
        XCTAssertNotNil(history[0].validationLoss)
        let stopped = try trainer.fit(windows, options: TrainingOptions(epochs: 5, batchSize: 8)) { event in
            if case .step(_, let step, _, _) = event { return step < 30 }
            return true
        }
        XCTAssertTrue(stopped.isEmpty, "stopped inside the first epoch")
        XCTAssertThrowsError(try trainer.fit(windows, options: TrainingOptions(epochs: 1, batchSize: 8, earlyStoppingPatience: 1)))
        XCTAssertEqual(try trainer.fit(windows, options: TrainingOptions(epochs: 0, batchSize: 8)), [],
                       "zero epochs: a finished run resumed with `total - trainer.epoch`")
        XCTAssertThrowsError(try trainer.fit(windows, options: TrainingOptions(epochs: -1, batchSize: 8)))
        XCTAssertThrowsError(try trainer.fit(windows, options: TrainingOptions(epochs: 1, batchSize: 8, validationFraction: 1)))
    }

    /// Keras's `validation_data`: windows scored after every epoch, apart from
    /// the training windows, which train exactly as without them.
    func testValidationWindowsAreScoredAndDoNotChangeTraining() throws {
        let windows = try sineWindows(count: 60)
        let held = try sineWindows(count: 20)
        func trainer() throws -> Trainer<CNNLSTM, SGD> {
            try Trainer(model: try fcLSTM(seed: 5), optimizer: try SGD(learningRate: 0.05), loss: MeanSquaredError())
        }
        var plain = try trainer(), validated = try trainer()
        let plainHistory = try plain.fit(windows, options: TrainingOptions(epochs: 2, batchSize: 8))
        let history = try validated.fit(windows, options: TrainingOptions(epochs: 2, batchSize: 8, validationWindows: held))
        XCTAssertEqual(validated.model.namedParameters.map(\.tensor), plain.model.namedParameters.map(\.tensor))
        XCTAssertEqual(history.map(\.trainingLoss), plainHistory.map(\.trainingLoss))
        XCTAssertNil(plainHistory[1].validationLoss)
        XCTAssertEqual(history[1].validationLoss, try validated.evaluate(held, batchSize: 8), "the last epoch's model on the held windows")
        var trainer = plain
        XCTAssertThrowsError(try trainer.fit(windows, options: TrainingOptions(epochs: 1, batchSize: 8, validationFraction: 0.2,
                                                                               validationWindows: held)), "not both")
        let unlabelled = try FrameStack(stacked: (0 ..< 20).map { Float($0) }, frameShape: try FrameShape(height: 1, width: 1, channels: 1))
            .windows(WindowParameters(sequenceLength: 5))
        XCTAssertThrowsError(try trainer.fit(windows, options: TrainingOptions(epochs: 1, batchSize: 8, validationWindows: unlabelled)))
        XCTAssertNoThrow(try trainer.fit(windows, options: TrainingOptions(epochs: 1, batchSize: 8, earlyStoppingPatience: 1,
                                                                           validationWindows: held)), "early stopping on them")
    }

    /// A checkpoint's history as a reader outside the trainer gets it: the same
    /// epochs, a non-finite loss included (written as "nan").
    func testCheckpointTrainingHistoryReadsNonFiniteLosses() throws {
        var trainer = try Trainer(model: try fcLSTM(seed: 6), optimizer: try SGD(learningRate: 0.05), loss: MeanSquaredError())
        _ = try trainer.fit(try sineWindows(count: 40), options: TrainingOptions(epochs: 2, batchSize: 8))
        var checkpoint = trainer.checkpoint()
        XCTAssertEqual(try checkpoint.trainingHistory(), trainer.history)
        let key = Checkpoint.TrainerKey.history.rawValue
        let text = try XCTUnwrap(checkpoint.metadata[key])
        let loss = try XCTUnwrap(text.range(of: #""training_loss":[^,}]*"#, options: .regularExpression))
        checkpoint.metadata[key] = text.replacingCharacters(in: loss, with: #""training_loss":"nan""#)
        let history = try checkpoint.trainingHistory()
        XCTAssertEqual(history.count, 2)
        XCTAssert(history[0].trainingLoss.isNaN)
        checkpoint.metadata[key] = "[{]"
        XCTAssertThrowsError(try checkpoint.trainingHistory(), "a corrupt history is an error, not an empty one")
    }
}

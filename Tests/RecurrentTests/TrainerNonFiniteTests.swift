import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// The Trainer stops at the first NaN or infinity, wherever it appears (a
/// batch's inputs or targets, the loss, a gradient, a parameter after the
/// update), naming it and its element, and keeps nothing of that step.
/// The input case is `TrainerTests.testNaNStopsTheRunNamingWhereItAppeared`.
final class TrainerNonFiniteTests: XCTestCase {
    /// Mean squared error whose value and gradient are transformed, to make a
    /// bad loss or gradient appear from finite data.
    struct DistortedLoss: Loss {
        var reduction: LossReduction { .mean }
        let value: @Sendable (Float) -> Float
        let gradient: @Sendable (Float) -> Float

        func evaluate(prediction: Tensor, target: Tensor, weights: Tensor?) throws -> LossValue {
            let exact = try MeanSquaredError().evaluate(prediction: prediction, target: target, weights: weights)
            return LossValue(value: value(exact.value),
                             gradient: try Tensor(shape: exact.gradient.shape, scalars: exact.gradient.scalars.map(gradient)))
        }
    }

    /// 40 values in 1 x 1 x 1 frames, windows of 5 and the next value.
    func windows(_ values: [Float]) throws -> FrameWindows {
        let frames = try FrameStack(stacked: values, frameShape: try FrameShape(height: 1, width: 1, channels: 1))
        return try frames.windows(WindowParameters(sequenceLength: 5, target: .frameAfter(steps: 1)))
    }

    let finite = (0 ..< 40).map { Float($0 % 7) / 7 }

    func model() throws -> CNNLSTM {
        try CNNLSTM(features: TimeDistributed(try Sequential([.flatten])), lstm: try LSTM(inputSize: 1, hiddenSize: 6, seed: 4),
                    head: try Dense(inputSize: 6, outputSize: 1, seed: 5))
    }

    /// Fits one epoch in batches of 4 and checks the error's name, index and
    /// value, that `steps` steps ran and that the model holds only finite values.
    func assertStops<O: Optimizer>(_ trainer: inout Trainer<CNNLSTM, O>, on windows: FrameWindows, name expected: String,
                                   index expectedIndex: Int, value check: (Float) -> Bool, steps: Int,
                                   file: StaticString = #filePath, line: UInt = #line) {
        let before = trainer.model.namedParameters.map(\.tensor)
        XCTAssertThrowsError(try trainer.fit(windows, options: TrainingOptions(epochs: 1, batchSize: 4, shuffleSeed: nil)),
                             file: file, line: line) { error in
            guard case let .nonFinite(name, index, value)? = error as? RecurrentError else {
                return XCTFail("\(error)", file: file, line: line)
            }
            XCTAssertEqual(name, expected, file: file, line: line)
            XCTAssertEqual(index, expectedIndex, file: file, line: line)
            XCTAssert(check(value), "\(value)", file: file, line: line)
            print(error)
        }
        XCTAssertEqual(trainer.step, steps, file: file, line: line)
        XCTAssert(trainer.model.namedParameters.allSatisfy { $0.tensor.firstNonFiniteIndex == nil },
                  "the bad step was not applied", file: file, line: line)
        if steps == 0 { XCTAssertEqual(trainer.model.namedParameters.map(\.tensor), before, file: file, line: line) }
    }

    /// Rows of a targets array stay batch-first in a time-major batch, whatever
    /// their rank: the window named is the row's, not one read as (S, B, F).
    func testAnInfiniteRowOfATargetsArrayIsNamedWithItsWindowInTimeMajorBatches() throws {
        let frames = try FrameStack(stacked: finite, frameShape: try FrameShape(height: 1, width: 1, channels: 1))
        var rows = (0 ..< 40 * 6).map { Float($0 % 5) / 5 }
        rows[1 * 6 + 5] = .infinity   // row 1, element (1, 2): window 1, the second of the first batch (read as
                                      // (S, B, F), flat index 11 would be window 3's)
        let windows = try frames.windows(WindowParameters(sequenceLength: 5),
                                         targets: try Tensor(shape: [40, 2, 3], scalars: rows))
        var trainer = try Trainer(model: try Dense(inputSize: 1, outputSize: 6, seed: 1), optimizer: try SGD(learningRate: 0.1),
                                  loss: MeanSquaredError())
        XCTAssertThrowsError(try trainer.fit(windows, options: TrainingOptions(epochs: 1, batchSize: 4, shuffleSeed: nil,
                                                                               layout: .timeMajor))) { error in
            guard case let .nonFinite(name, index, value)? = error as? RecurrentError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "target of window 1 at epoch 1, step 1")
            XCTAssertEqual(index, 11)
            XCTAssertEqual(value, .infinity)
        }
    }

    func testAnInfiniteTargetIsNamedWithItsWindow() throws {
        var values = finite
        values[39] = .infinity   // the target of the last window (34) only, the third of step 9's batch
        var trainer = try Trainer(model: try model(), optimizer: try SGD(learningRate: 0.1), loss: MeanSquaredError())
        assertStops(&trainer, on: try windows(values), name: "target of window 34 at epoch 1, step 9", index: 2,
                    value: { $0 == .infinity }, steps: 8)
    }

    func testANaNInTimeMajorInputsIsNamedWithItsWindow() throws {
        var values = finite
        // Read by windows 2 (timestep 4) and 3 (timestep 3); in (T 5, B 4, F 1) order
        // window 3's, element 3 * 4 + 3, comes first.
        values[6] = .nan
        var trainer = try Trainer(model: try model(), optimizer: try SGD(learningRate: 0.1), loss: MeanSquaredError())
        XCTAssertThrowsError(try trainer.fit(try windows(values), options: TrainingOptions(
            epochs: 1, batchSize: 4, shuffleSeed: nil, layout: .timeMajor))) { error in
            XCTAssertTrue("\(error)".contains("inputs of window 3 at epoch 1, step 1 holds nan at flat index 15"), "\(error)")
        }
    }

    func testAnInfiniteLossIsNamed() throws {
        let loss = DistortedLoss(value: { _ in .infinity }, gradient: { $0 })
        var trainer = try Trainer(model: try model(), optimizer: try SGD(learningRate: 0.1), loss: loss)
        assertStops(&trainer, on: try windows(finite), name: "loss at epoch 1, step 1", index: 0,
                    value: { $0 == .infinity }, steps: 0)
    }

    func testANaNGradientIsNamedByItsParameter() throws {
        // A NaN upstream gradient reaches every parameter; the first one is named.
        let loss = DistortedLoss(value: { $0 }, gradient: { _ in .nan })
        var trainer = try Trainer(model: try model(), optimizer: try SGD(learningRate: 0.1), loss: loss)
        let first = trainer.model.namedParameters[0].name
        assertStops(&trainer, on: try windows(finite), name: "gradient of '\(first)' at epoch 1, step 1", index: 0,
                    value: \.isNaN, steps: 0)
    }

    /// An optimizer of the user's own (the Trainer cannot check its step
    /// beforehand, so it undoes the step from a copy): SGD behind a wrapper.
    struct WrappedSGD: Optimizer {
        var inner: SGD
        var learningRate: Double {
            get { inner.learningRate }
            set { inner.learningRate = newValue }
        }
        var stepCount: Int { inner.stepCount }
        mutating func step(parameters: inout [Tensor], gradients: [Tensor]) throws {
            try inner.step(parameters: &parameters, gradients: gradients)
        }
        func exportState() -> OptimizerState { inner.exportState() }
        mutating func importState(_ state: OptimizerState) throws { try inner.importState(state) }
    }

    /// Fits one epoch whose first step overflows a parameter; checks the error
    /// and that the model and optimizer are as before it.
    func assertOverflowRefused<O: Optimizer>(_ trainer: inout Trainer<CNNLSTM, O>, on windows: FrameWindows,
                                             at position: String, file: StaticString = #filePath, line: UInt = #line) {
        let names = trainer.model.namedParameters.map(\.name)
        let before = trainer.model.namedParameters.map(\.tensor)
        let (state, rate, step) = (trainer.optimizer.exportState(), trainer.optimizer.learningRate, trainer.step)
        XCTAssertThrowsError(try trainer.fit(windows, options: TrainingOptions(epochs: 1, batchSize: 4, shuffleSeed: nil)),
                             file: file, line: line) {
            guard case let .nonFinite(name, _, value)? = $0 as? RecurrentError else { return XCTFail("\($0)", file: file, line: line) }
            XCTAssert(names.contains { name == "parameter '\($0)' after the update \(position)" }, name, file: file, line: line)
            XCTAssertFalse(value.isFinite, file: file, line: line)
        }
        XCTAssertEqual(trainer.step, step, file: file, line: line)
        XCTAssertEqual(trainer.model.namedParameters.map(\.tensor), before, "the update was undone", file: file, line: line)
        XCTAssertEqual(trainer.optimizer.exportState(), state, "the optimizer's state was kept", file: file, line: line)
        XCTAssertEqual(trainer.optimizer.learningRate, rate, file: file, line: line)
    }

    func testAParameterOverflowingInTheUpdateIsNamedAndUndone() throws {
        // Finite gradients of about 1e30 and a rate of 1e10 step the head's
        // bias (its gradient is the sum of the upstream one) past Float32.
        let loss = DistortedLoss(value: { $0 }, gradient: { $0 * 1e30 })
        var checked = try Trainer(model: try model(), optimizer: try SGD(learningRate: 1e10, momentum: 0.5), loss: loss)
        assertOverflowRefused(&checked, on: try windows(finite), at: "at epoch 1, step 1")
        var wrapped = try Trainer(model: try model(), optimizer: WrappedSGD(inner: try SGD(learningRate: 1e10, momentum: 0.5)),
                                  loss: loss)
        assertOverflowRefused(&wrapped, on: try windows(finite), at: "at epoch 1, step 1")
    }

    func testAnAdamStepOverflowingAfterGoodStepsKeepsTheirState() throws {
        // Two epochs at a sane rate build Adam's moments; then a rate of 3.3e38
        // makes the bias-corrected step size (rate / 0.86) overflow Float32.
        var trainer = try Trainer(model: try model(), optimizer: try Adam(learningRate: 0.01), loss: MeanSquaredError())
        try trainer.fit(try windows(finite), options: TrainingOptions(epochs: 2, batchSize: 4, shuffleSeed: nil))
        XCTAssertEqual(trainer.optimizer.stepCount, 18)
        trainer.initialLearningRate = 3.3e38
        assertOverflowRefused(&trainer, on: try windows(finite), at: "at epoch 3, step 19")
        trainer.initialLearningRate = 0.01   // training goes on from the kept state
        try trainer.fit(try windows(finite), options: TrainingOptions(epochs: 1, batchSize: 4, shuffleSeed: nil))
        XCTAssertEqual(trainer.optimizer.stepCount, 27)
    }

    func testValidateFiniteIsAnOptInCheckForInferenceInputs() throws {
        let window = try Tensor(shape: [1, 3, 2], scalars: [0, 1, 2, -.infinity, 4, 5])
        XCTAssertEqual(window.firstNonFiniteIndex, 3)
        XCTAssertThrowsError(try window.validateFinite(name: "camera window")) {
            XCTAssertEqual($0 as? FrameSequencingError, .nonFinite(name: "camera window", index: 3, value: -.infinity))
        }
        XCTAssertNoThrow(try Tensor(shape: [2, 2], repeating: 3).validateFinite())
        XCTAssertNil(try Tensor(shape: [0]).firstNonFiniteIndex)
    }
}

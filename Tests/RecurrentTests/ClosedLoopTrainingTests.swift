import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Scheduled sampling and the Trainer's closed-loop training.
final class ClosedLoopTrainingTests: XCTestCase {
    /// A sine wave as 1 x 1 x 1 frames.
    private func sine(count: Int = 200) throws -> FrameStack {
        try FrameStack(stacked: (0 ..< count).map { 0.5 + 0.4 * sin(Float($0) * 0.3) },
                       frameShape: try FrameShape(height: 1, width: 1, channels: 1))
    }

    /// An FC-LSTM forecaster of 1 x 1 x 1 frames.
    private func forecaster(seed: UInt64) throws -> CNNLSTMForecaster {
        CNNLSTMForecaster(encoder: TimeDistributed(try Sequential([.flatten])),
                          lstm: try LSTM(inputSize: 1, hiddenSize: 12, seed: seed),
                          decoder: TimeDistributed(try Sequential([
                              .dense(try Dense(inputSize: 12, outputSize: 1, seed: seed + 1)), .reshape([1, 1, 1]),
                          ])))
    }

    func testSamplingSchedulesFollowTheirFormulas() throws {
        let linear = try SamplingSchedule.linear(from: 1, to: 0, steps: 100)
        XCTAssertEqual(linear.probability(atStep: 0), 1)
        XCTAssertEqual(linear.probability(atStep: 25), 0.75, accuracy: 1e-12)
        XCTAssertEqual(linear.probability(atStep: 100), 0)
        XCTAssertEqual(linear.probability(atStep: 5000), 0)
        let rising = try SamplingSchedule.linear(from: 0.5, to: 1, steps: 10)
        XCTAssertEqual(rising.probability(atStep: 5), 0.75, accuracy: 1e-12)
        XCTAssertEqual(SamplingSchedule.exponentialDecay(base: 0.99).probability(atStep: 100), pow(0.99, 100), accuracy: 1e-12)
        XCTAssertEqual(SamplingSchedule.inverseSigmoidDecay(k: 10).probability(atStep: 20), 10 / (10 + exp(2)), accuracy: 1e-12)
        XCTAssertEqual(SamplingSchedule.constant(0.3).probability(atStep: 7), 0.3)
    }

    func testSamplingSchedulesRefuseNumbersOutOfRange() {
        for (schedule, text) in [(SamplingSchedule.constant(1.5), "constant"), (.linearRamp(start: 1, end: -0.1, steps: 5), "end"),
                                 (.linearRamp(start: 1, end: 0, steps: 0), "steps"), (.exponentialDecay(base: 2), "base"),
                                 (.inverseSigmoidDecay(k: 0.5), "k")] {
            XCTAssertThrowsError(try ClosedLoopTraining(sampling: schedule)) { error in
                XCTAssert("\(error)".contains(text), "\(error)")
            }
        }
    }

    func testSamplingDecisionsAreSeededPerStepAndFollowTheChances() throws {
        let options = try ClosedLoopTraining(sampling: .constant(0.3), reverseSampling: .constant(0.8), seed: 4)
        let mask = try options.feedsTruth(batch: 400, frames: 22, contextLength: 12, step: 3)
        XCTAssertEqual(mask.dimensions, [400, 20])
        XCTAssertEqual(mask, try options.feedsTruth(batch: 400, frames: 22, contextLength: 12, step: 3))
        XCTAssertNotEqual(mask, try options.feedsTruth(batch: 400, frames: 22, contextLength: 12, step: 4))
        let values = mask.scalars
        // Inputs 1 ..< 12 are context frames (columns 0 ..< 11), the rest forecast steps.
        let context = (0 ..< 400).flatMap { b in values[b * 20 ..< b * 20 + 11] }
        let forecast = (0 ..< 400).flatMap { b in values[b * 20 + 11 ..< b * 20 + 20] }
        let (contextShare, forecastShare) = (context.reduce(0, +) / Float(context.count), forecast.reduce(0, +) / Float(forecast.count))
        // 4400 and 3600 draws: three standard deviations are 0.018 and 0.023.
        XCTAssertEqual(contextShare, 0.8, accuracy: 0.02)
        XCTAssertEqual(forecastShare, 0.3, accuracy: 0.025)
        XCTAssert(values.allSatisfy { $0 == 0 || $0 == 1 })
        let plain = try ClosedLoopTraining(sampling: .constant(0)).feedsTruth(batch: 2, frames: 6, contextLength: 3, step: 0)
        XCTAssertEqual(plain.scalars, [1, 1, 0, 0, 1, 1, 0, 0])
    }

    /// One trainer step is the rollout's loss over the forecast frames, its
    /// backward through the fed-back predictions, and the optimizer's update.
    func testATrainerStepIsTheRolloutsLossGradientAndUpdate() throws {
        let model = try forecaster(seed: 2)
        let options = try ClosedLoopTraining(sampling: .constant(0.5), lossSteps: .forecast, seed: 9)
        let windows = try sine().windows(WindowParameters(sequenceLength: 6, target: .nextFrames(count: 4)))
        let batches = try windows.batches(size: 3)
        var batch = try batches.makeBuffer(layout: .spatial)
        try batches.fill(0, into: &batch)

        var trainer = try Trainer(model: model, optimizer: try SGD(learningRate: 0.5), loss: MeanSquaredError(), closedLoop: options)
        var gradients = model.zeroGradients()
        let loss = try trainer.trainOnBatch(batch, gradients: &gradients)

        // The same by hand: frames 0 ..< 10 of each window, the mask of step 0.
        let (inputs, targets) = (batch.inputs.scalars, batch.targets!.scalars)
        var sequence: [Float] = []
        for b in 0 ..< 3 {
            sequence += Array(inputs[b * 6 ..< b * 6 + 6])
            sequence += Array(targets[b * 4 ..< b * 4 + 4])
        }
        let all = try Tensor(shape: [3, 10, 1, 1, 1], scalars: sequence)
        let feeds = try options.feedsTruth(batch: 3, frames: 10, contextLength: 6, step: 0)
        let (predictions, cache) = try model.rolloutTrainingForward(all, feedsTruth: feeds)
        let predicted = predictions.scalars
        var forecast: [Float] = []
        for b in 0 ..< 3 { forecast += predicted[b * 9 + 5 ..< b * 9 + 9] }
        var expected = 0.0
        for (p, t) in zip(forecast, targets) { expected += Double(p - t) * Double(p - t) / 12 }
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-6)
        var g = [Float](repeating: 0, count: 27)
        for b in 0 ..< 3 {
            for k in 0 ..< 4 { g[b * 9 + 5 + k] = 2 * (forecast[b * 4 + k] - targets[b * 4 + k]) / 12 }
        }
        var byHand = model.zeroGradients()
        try model.rolloutBackward(predictionGradient: try Tensor(shape: [3, 9, 1, 1, 1], scalars: g), cache: cache, into: &byHand)
        let after = trainer.model.namedParameters
        for (index, before) in model.namedParameters.enumerated() {
            let gradient = byHand.tensors[index].scalars
            let updated = zip(before.tensor.scalars, gradient).map { $0 - 0.5 * $1 }
            requireClose(compare(before.name, actual: after[index].tensor.scalars, expected: updated, atol: 1e-6, rtol: 1e-5))
        }
        XCTAssertEqual(trainer.closedLoop, options)
    }

    /// Trained on its own predictions, the forecaster's 10-step closed-loop
    /// error is lower than after as many steps of teacher forcing.
    func testClosedLoopTrainingForecastsFurtherThanTeacherForcing() throws {
        let stack = try sine(count: 240)
        let rollouts = try stack.windows(WindowParameters(sequenceLength: 12, target: .nextFrames(count: 10)))
        let shifted = try stack.windows(WindowParameters(sequenceLength: 22, target: .shifted))
        let options = TrainingOptions(epochs: 8, batchSize: 16, shuffleSeed: 1, clipping: .globalNorm(maxNorm: 1), layout: .spatial)
        var closed = try Trainer(model: try forecaster(seed: 5), optimizer: try Adam(learningRate: 0.01), loss: MeanSquaredError(),
                                 closedLoop: try ClosedLoopTraining(sampling: try .linear(from: 1, to: 0, steps: 60)))
        try closed.fit(rollouts, options: options)
        var teacher = try Trainer(model: try forecaster(seed: 5), optimizer: try Adam(learningRate: 0.01), loss: MeanSquaredError())
        try teacher.fit(shifted, options: options)
        // Both scored on the same closed-loop forecasts.
        var scorer = try Trainer(model: teacher.model, optimizer: try SGD(learningRate: 0), loss: MeanSquaredError(),
                                 closedLoop: try ClosedLoopTraining())
        let teacherError = try scorer.evaluate(rollouts, batchSize: 32, layout: .spatial)
        scorer.model = closed.model
        let closedError = try scorer.evaluate(rollouts, batchSize: 32, layout: .spatial)
        print("sine, 10 steps closed-loop MSE: teacher forcing \(teacherError), closed-loop training \(closedError)")
        XCTAssertLessThan(closedError, teacherError)
        XCTAssertEqual(closed.step, teacher.step)
    }

    func testClosedLoopTrainingRefusesFlatBatches() throws {
        let windows = try sine().windows(WindowParameters(sequenceLength: 6, target: .nextFrames(count: 2)))
        var trainer = try Trainer(model: try forecaster(seed: 1), optimizer: try SGD(learningRate: 0.1), loss: MeanSquaredError(),
                                  closedLoop: try ClosedLoopTraining())
        XCTAssertThrowsError(try trainer.fit(windows, options: TrainingOptions(epochs: 1, batchSize: 4))) { error in
            XCTAssert("\(error)".contains("the .spatial layout"), "\(error)")
        }
    }
}

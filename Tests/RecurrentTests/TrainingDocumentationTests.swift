import Foundation
import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// The README's training example and every doc-comment example of
/// `Sources/Recurrent/Training/`, run as written on small made-up data.
final class TrainingDocumentationTests: XCTestCase {
    /// README: the seeds' MATLAB setup driving a Dense layer on a linear target.
    func testReadmeTrainingExample() throws {
        let x = try randomTensor([16, 4], seed: 1)
        let trueWeights: [Float] = [0.5, -0.3, 0.2, 0.1]
        let t = try Tensor(shape: [16, 1], scalars: (0 ..< 16).map { row in
            zip(x.scalars[row * 4 ..< row * 4 + 4], trueWeights).reduce(0.1) { $0 + $1.0 * $1.1 } })
        var dense = try Dense(inputSize: 4, outputSize: 1, seed: 2)
        let initialLoss = try MeanSquaredError().evaluate(prediction: dense.forward(x), target: t).value

        var optimizer = try Adam(learningRate: 0.005)
        let schedule = try StepDecay.piecewise(dropFactor: 0.2, dropPeriod: 125)
        let clipping = GradientClipping.perTensorNorm(threshold: 1)
        for epoch in 0 ..< 250 {
            let (y, cache) = try dense.trainingForward(x)
            let loss = try MeanSquaredError().evaluate(prediction: y, target: t)
            var gradients = dense.zeroGradients()
            _ = try dense.backward(outputGradient: loss.gradient, cache: cache, into: &gradients)
            var list = [gradients.weight, gradients.bias]
            try clipping.apply(to: &list)
            optimizer.learningRate = schedule.learningRate(initial: 0.005, at: SchedulePosition(epoch: epoch, step: epoch))
            var parameters = [dense.weight, dense.bias]
            try optimizer.step(parameters: &parameters, gradients: list)
            (dense.weight, dense.bias) = (parameters[0], parameters[1])
        }
        let state = optimizer.exportState()
        XCTAssertEqual(state.scalars["adam.step"], 250)
        XCTAssertEqual(state.scalars["adam.lr"]!, 0.001, accuracy: 1e-15, "dropped once, after epoch 124")
        XCTAssertNotNil(state.tensors["adam.exp_avg.0"])
        let finalLoss = try MeanSquaredError().evaluate(prediction: dense.forward(x), target: t).value
        print("README training example: loss \(initialLoss) -> \(finalLoss)")
        XCTAssertLessThan(finalLoss, initialLoss / 10)
    }

    /// Trainer and CheckpointPolicy: fit with checkpoints, resume an interrupted run.
    func testTrainerAndCheckpointPolicyExamples() throws {
        let directory = try TestData.temporaryDirectory("doc-trainer")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let windows = try ResumeRun.windows()
        let model = try ResumeRun.trainer().model

        // Trainer: the first attempt stops inside epoch 2, the second resumes and finishes.
        var stopped = false
        for _ in 0 ..< 2 {
            var trainer = try Trainer(model: model, optimizer: try Adam(learningRate: 1e-3), loss: MeanSquaredError(),
                                      schedule: StepDecay.piecewise(dropFactor: 0.2, dropPeriod: 125))
            let checkpoints = CheckpointPolicy(path: directory + "/run.safetensors", interval: .seconds(600))   // and every epoch
            if FileManager.default.fileExists(atPath: checkpoints.path) {     // a run that was interrupted
                try trainer.resume(from: try Checkpoint.read(contentsOf: checkpoints.path))
            }
            let history = try trainer.fit(windows, options: TrainingOptions(
                epochs: 3 - trainer.epoch, batchSize: 16, validationFraction: 0.1, clipping: .globalNorm(maxNorm: 1),
                checkpoint: checkpoints, showsProgress: false)) { event in
                if case .step(2, _, _, _) = event, !stopped { stopped = true; return false }
                return true
            }
            XCTAssertEqual(history.map(\.epoch), trainer.epoch == 3 ? [2, 3] : [1])
            XCTAssertEqual(trainer.history.map(\.epoch), Array(1 ... trainer.epoch))
        }

        // CheckpointPolicy: the caller's metadata travels with the position.
        var trainer = try Trainer(model: model, optimizer: try Adam(learningRate: 1e-3), loss: MeanSquaredError())
        let policy = CheckpointPolicy(path: directory + "/checkpoint.safetensors", interval: .seconds(600),
                                      metadata: ["model": "convlstm", "filters": "16,16"])
        try trainer.fit(windows, options: TrainingOptions(epochs: 2, batchSize: 8, checkpoint: policy)) { event in
            if case .step(_, 10, _, _) = event { return false }
            return true
        }
        let saved = try Checkpoint.read(contentsOf: policy.path)
        XCTAssertEqual(saved.metadata["filters"], "16,16")
        var resumed = try Trainer(model: try ResumeRun.trainer(seed: 3).model, optimizer: try Adam(), loss: MeanSquaredError())
        try resumed.resume(from: saved)
        XCTAssertEqual([resumed.epoch, resumed.step, resumed.batchesDoneInEpoch], [1, 9, 0], "the end of epoch 1 (68 windows, 9 batches)")
        try resumed.fit(windows, options: TrainingOptions(epochs: 2 - resumed.epoch, batchSize: 8, checkpoint: policy))
        XCTAssertEqual(resumed.epoch, 2)
    }

    func testLossExamples() throws {
        // Loss: a padded batch's mask as weights.
        let sequences = [try randomTensor([3, 2], seed: 1), try randomTensor([1, 2], seed: 2)]
        let padded = try padSequences(sequences, padding: .post, truncating: .pre)
        let y = try randomTensor([2, 3, 2], seed: 3)
        let result = try MeanSquaredError().evaluate(prediction: y, target: padded.values, weights: padded.mask)
        let valid = try MeanSquaredError(reduction: .sum).evaluate(prediction: y, target: padded.values, weights: padded.mask)
        XCTAssertEqual(result.value, valid.value / 8, accuracy: 1e-6, "the mean over the 4 valid timesteps' 2 features")
        XCTAssertEqual(result.gradient.dimensions, [2, 3, 2])
        XCTAssert(result.gradient.scalars[8 ..< 12].allSatisfy { $0 == 0 }, "0 at padding")

        // MeanSquaredError, BinaryCrossEntropyWithLogits.
        let t = try randomTensor([2, 3, 2], seed: 4)
        XCTAssertGreaterThan(try MeanSquaredError().evaluate(prediction: y, target: t).value, 0)
        let logits = try randomTensor([4, 1], seed: 5, scale: 3)
        let labels = try Tensor(shape: [4, 1], scalars: [1, 0, 0, 1])
        XCTAssertGreaterThan(try BinaryCrossEntropyWithLogits().evaluate(prediction: logits, target: labels).value, 0)

        // SoftmaxCrossEntropy: class indices and probabilities.
        let loss = SoftmaxCrossEntropy()
        let scores = try randomTensor([3, 4], seed: 6, scale: 2)
        let byClass = try loss.evaluate(logits: scores, classes: [2, 0, 1])
        let probabilities = try Tensor(shape: [3, 4], scalars: [0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0])
        let soft = try loss.evaluate(prediction: scores, target: probabilities)
        XCTAssertEqual(byClass.value, soft.value, accuracy: 1e-6)
    }

    func testOptimizerExamples() throws {
        var parameters = [try randomTensor([3, 2], seed: 1), try randomTensor([2], seed: 2)]
        let gradients = [try randomTensor([3, 2], seed: 3), try randomTensor([2], seed: 4)]
        let (steps, epoch) = (4, 0)
        let schedule = try ExponentialDecay(gamma: 0.9, unit: .step)

        // Optimizer.
        var optimizer = try Adam(learningRate: 1e-3)
        for step in 0 ..< steps {
            optimizer.learningRate = schedule.learningRate(initial: 1e-3, at: SchedulePosition(epoch: epoch, step: step))
            try optimizer.step(parameters: &parameters, gradients: gradients)
        }
        let saved = optimizer.exportState()
        var resumed = try Adam(learningRate: 1e-3)
        try resumed.importState(saved)
        XCTAssertEqual(resumed.stepCount, 4)

        // SGD, Adam, AdamW.
        var sgd = try SGD(learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4)
        try sgd.step(parameters: &parameters, gradients: gradients)
        var adam = try Adam(learningRate: 1e-3)
        try adam.step(parameters: &parameters, gradients: gradients)
        var adamw = try AdamW(learningRate: 1e-3, weightDecay: 0.01)
        try adamw.step(parameters: &parameters, gradients: gradients)
        XCTAssertEqual([sgd.stepCount, adam.stepCount, adamw.stepCount], [1, 1, 1])

        // GradientClipping.
        let (weightGradient, biasGradient) = (gradients[0], gradients[1])
        var clipped: [Tensor] = [weightGradient, biasGradient]
        let norm = try GradientClipping.globalNorm(maxNorm: 1).apply(to: &clipped)
        XCTAssertEqual(norm, try GradientClipping.l2Norm(of: gradients))
    }

    func testScheduleExamples() throws {
        // LearningRateSchedule.
        var optimizer = try Adam()
        let schedule = try LinearWarmup(startFactor: 0.1, duration: 100, unit: .step)
            .followed(by: CosineAnnealing(period: 50, unit: .epoch), after: 100, unit: .step)
        optimizer.learningRate = schedule.learningRate(initial: 1e-3, at: SchedulePosition(epoch: 3, step: 420))
        XCTAssertEqual(optimizer.learningRate, 1e-3 * (1 + cos(Double.pi * 3 / 50)) / 2, accuracy: 1e-18)

        // StepDecay.piecewise.
        let piecewise = try StepDecay.piecewise(dropFactor: 0.2, dropPeriod: 125)
        XCTAssertEqual(piecewise.learningRate(initial: 0.005, at: SchedulePosition(epoch: 125)), 0.001, accuracy: 1e-18)

        // CosineAnnealing.
        let cosine = try CosineAnnealing(period: 100, minimum: 1e-5)
        XCTAssertEqual(cosine.learningRate(initial: 1e-3, at: SchedulePosition(epoch: 50)), (1e-3 + 1e-5) / 2, accuracy: 1e-18)

        // LinearWarmup.
        let warmup = try LinearWarmup(startFactor: 0.1, duration: 4, unit: .step)
        XCTAssertEqual(warmup.learningRate(initial: 1, at: SchedulePosition(step: 2)), 0.55, accuracy: 1e-15)
    }
}

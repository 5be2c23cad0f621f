import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Closed-loop rollouts: gradients through fed-back predictions against
/// finite differences, and the rollout against the passes it must agree with
/// (teacher forcing is the ordinary forward, a zero mask is the closed-loop forecast).
final class ClosedLoopRolloutTests: XCTestCase {
    /// A ConvLSTM forecaster with an embedding, 4 x 4 frames of 1 channel.
    private func convLSTM() throws -> ConvLSTMForecaster {
        try ConvLSTMForecaster(frameHeight: 4, frameWidth: 4, channels: 1, filters: [2], embeddingFilters: 2, seed: 7)
    }

    /// An FC-LSTM (flatten, LSTM, Dense with a sigmoid, reshape) on 3 x 3 x 1 frames.
    private func fcLSTM() throws -> CNNLSTMForecaster {
        CNNLSTMForecaster(encoder: TimeDistributed(try Sequential([.flatten])),
                          lstm: try LSTM(inputSize: 9, hiddenSize: 3, seed: 3),
                          decoder: TimeDistributed(try Sequential([
                              .dense(try Dense(inputSize: 3, outputSize: 9, activation: .sigmoid, seed: 4)), .reshape([3, 3, 1]),
                          ])))
    }

    /// An FC-GRU (flatten, GRU, Dense with a sigmoid, reshape) on 3 x 3 x 1 frames.
    private func fcGRU() throws -> CNNGRUForecaster {
        CNNGRUForecaster(encoder: TimeDistributed(try Sequential([.flatten])),
                         gru: try GRU(inputSize: 9, hiddenSize: 3, seed: 3),
                         decoder: TimeDistributed(try Sequential([
                             .dense(try Dense(inputSize: 3, outputSize: 9, activation: .sigmoid, seed: 4)), .reshape([3, 3, 1]),
                         ])))
    }

    /// Sequence 0 mixes (truth, prediction, half of each); sequence 1 is closed-loop after its first input.
    private func mask(steps: Int) throws -> Tensor {
        let first: [Float] = (0 ..< steps).map { [1, 0, 0.5][$0 % 3] }
        return try Tensor(shape: [2, steps], scalars: first + [Float](repeating: 0, count: steps))
    }

    /// The analytic gradients of `L = sum(predictions * g)` over a rollout of
    /// `frames` against central differences, for every parameter and the frames.
    private func checkGradients<Model: ClosedLoopTrainable>(_ model: Model, frames: Tensor) throws {
        let feeds = try mask(steps: frames.dimensions[1] - 2)
        let (predictions, cache) = try model.rolloutTrainingForward(frames, feedsTruth: feeds)
        let g = try randomTensor(predictions.dimensions, seed: 11)
        var gradients = model.zeroGradients()
        let dFrames = try model.rolloutBackward(predictionGradient: g, cache: cache, into: &gradients)
        // The inference rollout is the training one.
        XCTAssertEqual(try model.rollout(frames, feedsTruth: feeds), predictions)
        for (index, (parameter, analytic)) in zip(model.namedParameters, gradients.tensors).enumerated() {
            requireClose(try finiteDifferenceCheck("d\(parameter.name)", parameter.tensor, analytic: analytic) { nudged in
                var copy = model
                copy.visitParameters { i, tensor in if i == index { tensor = nudged } }
                return dot(try copy.rollout(frames, feedsTruth: feeds), g)
            })
        }
        requireClose(try finiteDifferenceCheck("dframes", frames, analytic: dFrames) { nudged in
            dot(try model.rollout(nudged, feedsTruth: feeds), g)
        })
        // The last frame is never read.
        let frame = frames.count / (frames.dimensions[0] * frames.dimensions[1])
        XCTAssertEqual(Array(try dFrames.slice(0 ..< 1).scalars.suffix(frame)), [Float](repeating: 0, count: frame))
    }

    func testConvLSTMRolloutGradientsMatchFiniteDifferences() throws {
        try checkGradients(try convLSTM(), frames: try randomTensor([2, 5, 4, 4, 1], seed: 1, scale: 0.5).shifted(by: 0.5))
    }

    func testFCLSTMRolloutGradientsMatchFiniteDifferences() throws {
        try checkGradients(try fcLSTM(), frames: try randomTensor([2, 5, 3, 3, 1], seed: 2, scale: 0.5).shifted(by: 0.5))
    }

    func testFCGRURolloutGradientsMatchFiniteDifferences() throws {
        try checkGradients(try fcGRU(), frames: try randomTensor([2, 5, 3, 3, 1], seed: 2, scale: 0.5).shifted(by: 0.5))
    }

    /// With the true frame fed at every step, the rollout is the model's
    /// ordinary (teacher-forced) pass over frames 0 ..< S - 1, forward and backward.
    func testTeacherForcedRolloutIsTheSequencePass() throws {
        try checkTeacherForcing(try fcLSTM())
    }

    func testTeacherForcedFCGRURolloutIsTheSequencePass() throws {
        try checkTeacherForcing(try fcGRU())
    }

    private func checkTeacherForcing<Model: ClosedLoopTrainable & Composite>(_ model: Model) throws {
        let frames = try randomTensor([2, 6, 3, 3, 1], seed: 5, scale: 0.5).shifted(by: 0.5)
        let ones = try Tensor(shape: [2, 4], repeating: 1)
        let (predictions, cache) = try model.rolloutTrainingForward(frames, feedsTruth: ones)
        let inputs = try Tensor(shape: [2, 5, 3, 3, 1], scalars: (0 ..< 2).flatMap { b in
            Array(frames.scalars[b * 54 ..< b * 54 + 45])
        })
        let (whole, wholeCache) = try model.trainingForward(inputs, context: LayerContext())
        requireClose(compare("predictions", actual: predictions.scalars, expected: whole.scalars, atol: 1e-6, rtol: 1e-5))
        let g = try randomTensor(whole.dimensions, seed: 6)
        var (stepped, sequence) = (model.zeroGradients(), model.zeroGradients())
        try model.rolloutBackward(predictionGradient: g, cache: cache, into: &stepped)
        _ = try model.backward(outputGradient: g, cache: wholeCache, into: &sequence)
        for (name, (a, b)) in zip(model.namedParameters.map(\.name), zip(stepped.tensors, sequence.tensors)) {
            requireClose(compare("d\(name)", actual: a.scalars, expected: b.scalars, atol: 1e-6, rtol: 1e-4))
        }
    }

    /// With a zero mask the rollout is the closed-loop forecast from the first frame.
    func testClosedLoopRolloutIsTheClosedLoopForecast() throws {
        let model = try convLSTM()
        let frames = try randomTensor([2, 5, 4, 4, 1], seed: 8, scale: 0.5).shifted(by: 0.5)
        let rolled = try model.rollout(frames, feedsTruth: try Tensor(shape: [2, 3]))
        let forecast = try model.forecastClosedLoop(context: try frames.firstSteps(1), steps: 4)
        requireClose(compare("closed loop", actual: rolled.scalars, expected: forecast.scalars, atol: 1e-6, rtol: 1e-5))
    }

    func testRolloutRefusesBadFramesAndMasks() throws {
        let model = try convLSTM()
        let frames = try randomTensor([2, 4, 4, 4, 1], seed: 9)
        assertThrows(try model.rollout(frames, feedsTruth: try Tensor(shape: [2, 3])), containing: "(batch, steps - 2)")
        assertThrows(try model.rollout(frames, feedsTruth: try Tensor(shape: [2, 2], repeating: 2)), containing: "values in 0...1")
        assertThrows(try model.rollout(try frames.slice(0 ..< 1).reshaped(to: [4, 4, 4, 1]), feedsTruth: try Tensor(shape: [1, 2])),
                     containing: "steps >= 2")
        assertThrows(try model.rolloutTrainingForward(frames, feedsTruth: try Tensor(shape: [2, 2]), context: LayerContext(lengths: [4, 4])),
                     containing: "lengths")
        let (_, cache) = try model.rolloutTrainingForward(frames, feedsTruth: try Tensor(shape: [2, 2]))
        var gradients = model.zeroGradients()
        assertThrows(try model.rolloutBackward(predictionGradient: try Tensor(shape: [2, 2, 4, 4, 1]), cache: cache, into: &gradients),
                     containing: "Rollout prediction gradient")
    }
}

extension Tensor {
    /// Every value plus `offset`.
    fileprivate func shifted(by offset: Float) throws -> Tensor { try Tensor(shape: shape, scalars: scalars.map { $0 + offset }) }

    /// The first `steps` timesteps of (B, T, ...).
    fileprivate func firstSteps(_ steps: Int) throws -> Tensor {
        let (batch, total) = (dimensions[0], dimensions[1])
        let per = count / (batch * total)
        return try Tensor(shape: Shape([batch, steps] + dimensions.dropFirst(2)), scalars: (0 ..< batch).flatMap { b in
            Array(scalars[b * total * per ..< (b * total + steps) * per])
        })
    }
}

private func assertThrows<T>(_ expression: @autoclosure () throws -> T, containing text: String,
                             file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try expression()
        XCTFail("expected an error containing \"\(text)\"", file: file, line: line)
    } catch {
        XCTAssert("\(error)".contains(text), "\"\(error)\" does not contain \"\(text)\"", file: file, line: line)
    }
}

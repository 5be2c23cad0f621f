import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// The README's Recurrent example, run as written on small made-up data.
final class RecurrentDocumentationTests: XCTestCase {
    func testReadmeExample() throws {
        let frames = try TestData.labelledFrames(count: 30, height: 8, width: 8, channels: 1)
        let windows = try frames.windows(WindowParameters(sequenceLength: 5, target: .frameAfter(steps: 1)))
        let batch = try windows.batches(size: 4).batch(0)
        let target = batch.targets!

        var lstm = try LSTM(inputSize: 64, hiddenSize: 16, layerCount: 2, bidirectional: false,
                            dropout: 0.2, initialization: .keras, seed: 1)
        let head = try Dense(inputSize: 16, outputSize: 64, activation: .sigmoid, seed: 2)
        let (sequence, cache) = try lstm.trainingForward(batch.inputs, lengths: batch.lengths,
                                                          returnSequences: false, dropoutSeed: 3)
        XCTAssertEqual(sequence.output.dimensions, [4, 16])
        let (prediction, headCache) = try head.trainingForward(sequence.output)
        var headGradients = head.zeroGradients()
        let dPrediction = try Tensor(shape: prediction.shape,
            scalars: zip(prediction.scalars, target.scalars).map { 2 * ($0 - $1) / Float(prediction.count) })
        let dSequence = try head.backward(outputGradient: dPrediction, cache: headCache, into: &headGradients)
        var gradients = try LSTMGradients(zerosFor: lstm)
        let inputGradients = try lstm.backward(outputGradient: dSequence, cache: cache, into: &gradients)
        XCTAssertEqual(inputGradients.input.dimensions, batch.inputs.dimensions)
        gradients.zero()
        lstm.dropout = 0

        var stream = try LSTMStream(lstm, batch: 1)
        let h = try stream.step(try Tensor(shape: [1, 64]))
        XCTAssertEqual(h.dimensions, [1, 16])

        let directory = try TestData.temporaryDirectory("readme-recurrent")
        try lstm.pytorchSafeTensors().write(to: directory + "/lstm.safetensors")
        let file = try SafeTensors.read(contentsOf: directory + "/lstm.safetensors")
        var tensors: [String: Tensor] = [:]
        for name in file.names { tensors[name] = try file[name]!.tensor() }
        let fromTorch = try LSTM(pytorchStateDict: tensors)
        XCTAssertEqual(fromTorch.layers, lstm.layers)
        let single = try LSTM(inputSize: 64, hiddenSize: 16, seed: 4)
        try single.kerasSafeTensors(prefix: "lstm.").write(to: directory + "/keras.safetensors")
        let fromKeras = try LSTM(keras: SafeTensors.read(contentsOf: directory + "/keras.safetensors"), prefix: "lstm.")
        XCTAssertEqual(fromKeras.hiddenSize, 16)
    }
}

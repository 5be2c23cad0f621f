import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// The README's Recurrent example on small made-up data, checked in a debug build
/// (ReadmeExamplesTests runs the README's blocks verbatim in an optimized build).
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
        var gradients = lstm.zeroGradients()
        let inputGradients = try lstm.backward(outputGradient: dSequence, finalStateGradient: nil, cache: cache, into: &gradients)
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

/// The README's CNN-LSTM example and the models' doc-comment examples, on small frames.
final class ModelDocumentationTests: XCTestCase {
    func testReadmeCNNLSTMExample() throws {
        let frames = try randomTensor([2, 3, 64, 64, 1], seed: 1, scale: 0.5)
        let model = try CNNLSTM(frameHeight: 64, frameWidth: 64, channels: 1, filters: [32, 64],
                                hiddenSize: 64, outputs: 1, seed: 2)
        let (y, modelCache) = try model.trainingForward(frames)
        XCTAssertEqual(y.dimensions, [2, 1])
        let dY = try randomTensor([2, 1], seed: 2)
        var modelGradients = model.zeroGradients()
        let dFrames = try model.backward(outputGradient: dY, cache: modelCache, into: &modelGradients)
        XCTAssertEqual(dFrames.dimensions, frames.dimensions)

        let perFrame = TimeDistributed(try Sequential([
            .conv2D(Conv2D(inputChannels: 1, filters: 16, kernelSize: (3, 3), padding: .same, activation: .relu, seed: 1)),
            .maxPool2D(MaxPool2D(poolSize: (2, 2))),
            .flatten,
        ]))
        XCTAssertEqual(try perFrame.forward(frames).dimensions, [2, 3, 32 * 32 * 16])

        let forecaster = try CNNLSTMForecaster(frameHeight: 64, frameWidth: 64, channels: 1, seed: 3)
        let (next, state) = try forecaster.forward(frames)
        XCTAssertEqual(next.dimensions, frames.dimensions)
        XCTAssertEqual(state.hidden.dimensions, [1, 2, 128])

        let weight = try randomTensor([4, 1, 3, 3], seed: 4), bias = try randomTensor([4], seed: 5)
        let conv = try Conv2D(pytorchWeight: weight, bias: bias, padding: .valid)
        XCTAssertEqual(try conv.pytorchWeight(), weight)
        let kerasKernel = try randomTensor([3, 3, 1, 4], seed: 6), kerasBias = try randomTensor([1], seed: 7)
        let up = try Conv2DTranspose(kernel: kerasKernel, bias: kerasBias, strides: (2, 2), padding: .same)
        XCTAssertEqual(try up.forward(try randomTensor([1, 5, 5, 4], seed: 8)).dimensions, [1, 10, 10, 1])
    }

    func testDocCommentExamples() throws {
        // Sequential: 28 x 28 images through Conv 3x3 (valid), pool 2x2, flatten.
        let cnn = try Sequential([
            .conv2D(Conv2D(inputChannels: 1, filters: 8, kernelSize: (3, 3), activation: .relu, seed: 1)),
            .maxPool2D(MaxPool2D(poolSize: (2, 2))),
            .flatten,
        ])
        XCTAssertEqual(try cnn.forward(try randomTensor([2, 28, 28, 1], seed: 1)).dimensions, [2, 13 * 13 * 8])
        // TimeDistributed: the same stack per frame.
        let perFrame = TimeDistributed(cnn)
        XCTAssertEqual(try perFrame.forward(try randomTensor([2, 3, 28, 28, 1], seed: 2)).dimensions, [2, 3, 1352])
    }
}

import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// The package's models are layers: their `Layer` methods give what their own
/// methods give, their output dimensions are what forward returns, and a
/// `Trainer` fits any layer, a plain `Sequential` included.
final class ModelsAsLayersTests: XCTestCase {
    private func check<M: Layer>(_ name: String, _ model: M, input: [Int],
                                 own: (Tensor) throws -> (forward: Tensor, training: Tensor)) throws {
        let x = try randomTensor(input, seed: 11, scale: 0.5)
        let (ownForward, ownTraining) = try own(x)
        let output = try model.forward(x, context: LayerContext())
        XCTAssertEqual(output, ownForward, "\(name): forward(_:context:) equals the model's forward")
        let (training, cache) = try model.trainingForward(x, context: LayerContext())
        XCTAssertEqual(training, ownTraining, "\(name): trainingForward(_:context:) equals the model's")
        XCTAssertEqual(try model.outputDimensions(forInput: input), output.dimensions, "\(name) output dimensions")
        var gradients = model.zeroGradients()
        XCTAssertEqual(gradients.tensors.map(\.dimensions), model.namedParameters.map(\.tensor.dimensions), "\(name) gradient shapes")
        let dx = try model.backward(outputGradient: try randomTensor(output.dimensions, seed: 12), cache: cache, into: &gradients)
        XCTAssertEqual(dx.dimensions, input, "\(name): dL/dinput has the input's shape")
        XCTAssert(gradients.tensors.contains { $0.scalars.contains { $0 != 0 } }, "\(name): backward reached the parameters")
    }

    func testEveryModelIsALayer() throws {
        for returnSequences in [false, true] {
            let cnnLSTM = try CNNLSTM(frameHeight: 9, frameWidth: 8, channels: 2, filters: [3], hiddenSize: 5, outputs: 2,
                                      returnSequences: returnSequences, seed: 1)
            try check("CNNLSTM returnSequences \(returnSequences)", cnnLSTM, input: [2, 3, 9, 8, 2]) {
                (try cnnLSTM.forward($0), try cnnLSTM.trainingForward($0).output)
            }
        }
        let cnnForecaster = try CNNLSTMForecaster(frameHeight: 16, frameWidth: 16, channels: 1, seed: 2)
        try check("CNNLSTMForecaster", cnnForecaster, input: [2, 3, 16, 16, 1]) {
            (try cnnForecaster.forward($0).frames, try cnnForecaster.trainingForward($0).output)
        }
        for downsampling in UNetDownsampling.allCases {
            let unet = try UNetForecaster(frameHeight: 9, frameWidth: 6, channels: 2, filters: [3, 4], bottleneckFilters: 3,
                                          downsampling: downsampling, seed: 4)
            try check("UNetForecaster \(downsampling)", unet, input: [2, 3, 9, 6, 2]) {
                (try unet.forward($0, from: nil).output, try unet.trainingForward($0, from: nil).output)
            }
        }
        for embedding in [nil, 3] as [Int?] {
            let convLSTM = try ConvLSTMForecaster(frameHeight: 6, frameWidth: 5, channels: 2, filters: [3, 2], horizon: 2,
                                                  embeddingFilters: embedding, seed: 3)
            try check("ConvLSTMForecaster embedding \(String(describing: embedding))", convLSTM, input: [2, 3, 6, 5, 2]) {
                (try convLSTM.forward($0), try convLSTM.trainingForward($0).output)
            }
        }
    }

    func testOutputDimensionsRefuseWhatForwardRefuses() throws {
        let convLSTM = try ConvLSTMForecaster(frameHeight: 6, frameWidth: 5, channels: 2, filters: [3], horizon: 2, seed: 3)
        let cnnLSTM = try CNNLSTM(frameHeight: 9, frameWidth: 8, channels: 2, filters: [3], hiddenSize: 5, outputs: 2, seed: 1)
        let unet = try UNetForecaster(frameHeight: 6, frameWidth: 5, channels: 2, filters: [3], bottleneckFilters: 2, seed: 3)
        for (name, model, input) in [("ConvLSTMForecaster", convLSTM as any Layer, [2, 3, 6, 5, 1]),
                                     ("CNNLSTM", cnnLSTM as any Layer, [2, 3, 9, 8, 1]),
                                     ("UNetForecaster", unet as any Layer, [2, 3, 6, 5, 1])] {
            let x = try randomTensor(input, seed: 4)
            XCTAssertThrowsError(try model.forward(x, context: LayerContext()), "\(name) forward on the wrong channels")
            XCTAssertThrowsError(try model.outputDimensions(forInput: input), "\(name) dimensions of the wrong channels")
        }
    }

    private func assertInvalidArgument<T>(_ expression: @autoclosure () throws -> T, name: String,
                                          file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard case RecurrentError.invalidArgument(let thrown, _, _) = error else {
                return XCTFail("expected invalidArgument, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(thrown, name, file: file, line: line)
        }
    }

    func testPaddedBatchesAreRefusedByTheForecasters() throws {
        let x = try randomTensor([2, 3, 6, 5, 1], seed: 5)
        let convLSTM = try ConvLSTMForecaster(frameHeight: 6, frameWidth: 5, channels: 1, filters: [2], horizon: 1, seed: 3)
        assertInvalidArgument(try convLSTM.forward(x, context: LayerContext(lengths: [3, 3])), name: "ConvLSTMForecaster lengths")
        let cnnForecaster = try CNNLSTMForecaster(frameHeight: 16, frameWidth: 16, channels: 1, seed: 2)
        let frames = try randomTensor([2, 3, 16, 16, 1], seed: 6)
        XCTAssertNoThrow(try cnnForecaster.forward(frames, context: LayerContext(lengths: [3, 3])), "full lengths are accepted")
        assertInvalidArgument(try cnnForecaster.forward(frames, context: LayerContext(lengths: [3, 2])), name: "CNNLSTMForecaster lengths")
    }

    /// A Trainer fits a plain `Sequential` (no model type around it): the loss
    /// falls on a learnable map, and the fitted stack's parameters moved.
    func testATrainerFitsAPlainSequential() throws {
        // Frames of 2 x 2 x 1; the target is the frame after the window's last.
        var values: [Float] = []
        for t in 0 ..< 40 { values += (0 ..< 4).map { Float(($0 + t) % 4) / 4 } }
        let frames = try FrameStack(stacked: values, frameShape: try FrameShape(height: 2, width: 2, channels: 1))
        let windows = try frames.windows(WindowParameters(sequenceLength: 1, target: .frameAfter(steps: 1)))
        let stack = try Sequential([.flatten, .dense(try Dense(inputSize: 4, outputSize: 4, seed: 7)), .reshape([1, 2, 2, 1])])
        var trainer = try Trainer(model: stack, optimizer: try Adam(learningRate: 0.05), loss: MeanSquaredError())
        let before = try trainer.evaluate(windows, batchSize: 8, layout: .spatial)
        try trainer.fit(windows, options: TrainingOptions(epochs: 30, batchSize: 8, shuffleSeed: 1, layout: .spatial))
        let after = try trainer.evaluate(windows, batchSize: 8, layout: .spatial)
        XCTAssertLessThan(after, before / 10, "a linear map of the frame learns the cyclic shift")
        XCTAssertNotEqual(trainer.model.namedParameters.map(\.tensor), stack.namedParameters.map(\.tensor))
    }

    /// The models are named stacks: their bodies name the parts, the
    /// parameters carry the names, and their gradients are the body's.
    func testTheModelsAreNamedStacks() throws {
        var model = try CNNLSTM(frameHeight: 9, frameWidth: 8, channels: 1, filters: [2], hiddenSize: 3, outputs: 2, seed: 1)
        XCTAssertEqual(model.body.names, ["features", "lstm", "head"])
        XCTAssertEqual(model.namedParameters.map(\.name),
                       ["features.0.kernel", "features.0.bias", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                        "lstm.bias_hh_l0", "head.weight", "head.bias"])
        let x = try randomTensor([2, 4, 9, 8, 1], seed: 2)
        XCTAssertEqual(try model.forward(x).dimensions, [2, 2])
        model.returnSequences = true                                       // the LSTM's own flag
        XCTAssertTrue(model.lstm.returnSequences)
        XCTAssertEqual(try model.forward(x).dimensions, [2, 4, 2])
        XCTAssertEqual(try model.outputDimensions(forInput: x.dimensions), [2, 4, 2])
        model.lstm = try LSTM(inputSize: model.lstm.inputSize, hiddenSize: 3, seed: 5)   // returnSequences true by default
        XCTAssertEqual(try model.forward(x).dimensions, [2, 4, 2], "a replaced LSTM takes the model's flag")
        model.returnSequences = false
        model.lstm = try LSTM(inputSize: model.lstm.inputSize, hiddenSize: 3, seed: 6)
        XCTAssertEqual(try model.forward(x).dimensions, [2, 2])
        var forecaster = try CNNLSTMForecaster(frameHeight: 16, frameWidth: 16, channels: 1, hiddenSize: 8, seed: 2)
        forecaster.lstm = forecaster.lstm   // the setter keeps every step
        forecaster.lstm.returnSequences = false
        XCTAssertTrue(forecaster.lstm.returnSequences, "a forecaster's LSTM returns every step")

        let gradients = model.zeroGradients()
        XCTAssertEqual(try gradients.layer(1, as: LSTMGradients.self).tensors.map(\.dimensions),
                       model.lstm.namedParameters.map(\.tensor.dimensions))
        XCTAssertThrowsError(try gradients.layer(1, as: Dense.Gradients.self)) { error in
            guard case RecurrentError.cacheMismatch = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try gradients.layer(3, as: Dense.Gradients.self)) { error in
            guard case RecurrentError.invalidArgument = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try CNNLSTMForecaster(frameHeight: 16, frameWidth: 16, channels: 1, seed: 2).body.names,
                       ["encoder", "lstm", "decoder"])
    }

    func testNamedSequential() throws {
        let stack = try Sequential(named: ["embed": Dense(inputSize: 4, outputSize: 3, seed: 1), "act": Activation.tanh,
                                           "out": Dense(inputSize: 3, outputSize: 2, seed: 2)])
        XCTAssertEqual(stack.names, ["embed", "act", "out"])
        XCTAssertEqual(stack.namedParameters.map(\.name), ["embed.weight", "embed.bias", "out.weight", "out.bias"])
        XCTAssertThrowsError(try stack.forward(try randomTensor([2, 5], seed: 3), context: LayerContext())) { error in
            XCTAssert("\(error)".contains("Layer 0 'embed' (Dense)"), "the error names the layer: \(error)")
        }
        var grown = stack
        grown.layers.append(Activation.sigmoid)
        XCTAssertEqual(grown.names, ["embed", "act", "out", "3"], "an appended layer is named by its position")
        for names in [["a", "a"], ["a", ""]] {
            XCTAssertThrowsError(try Sequential(named: [names[0]: Flatten(), names[1]: Flatten()]), "names \(names)")
        }
        XCTAssertEqual(try Sequential([Flatten(), Flatten()]).names, ["0", "1"])
    }

    /// Layers that move values refuse gradients and caches of the wrong rank
    /// (a trap before: the crop's backward read axes it had not checked).
    func testCropBackwardRefusesWhatItCannotRead() throws {
        let crop = Crop(height: 2, width: 2)
        let x = try randomTensor([1, 3, 3, 1], seed: 1)
        let (y, cache) = try crop.trainingForward(x, context: LayerContext())
        var none = NoGradients()
        XCTAssertEqual(try crop.backward(outputGradient: y, cache: cache, into: &none).dimensions, [1, 3, 3, 1])
        XCTAssertThrowsError(try crop.backward(outputGradient: try randomTensor([4], seed: 2), cache: cache, into: &none))
        XCTAssertThrowsError(try crop.backward(outputGradient: y, cache: Shape([9]), into: &none))
        XCTAssertThrowsError(try crop.backward(outputGradient: try randomTensor([1, 4, 4, 1], seed: 3), cache: cache, into: &none))
    }
}

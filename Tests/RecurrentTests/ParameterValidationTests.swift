import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Every public parameter replaced with a tensor of the wrong shape (a
/// transpose of the same element count included) is refused with an error
/// naming it before any kernel reads it, from forward, training forward and
/// backward; wrong-shaped gradients are refused before anything is written.
/// Before these checks, several of these cases read or wrote past the end of a
/// buffer (AddressSanitizer: heap-buffer-overflow) or trapped; `.ci/run` runs
/// this class under AddressSanitizer.
final class ParameterValidationTests: XCTestCase {
    func assertThrows<T>(_ expected: RecurrentError, _ label: String, file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> T) {
        XCTAssertThrowsError(try body(), label, file: file, line: line) { error in
            XCTAssertEqual(error as? RecurrentError, expected, "\(label): \(error)", file: file, line: line)
        }
    }

    // MARK: Dense

    func testDenseRefusesReplacedParameters() throws {
        let dense = try Dense(inputSize: 4, outputSize: 12, seed: 1)
        let x = try randomTensor([2, 3, 4], seed: 2)
        let (y, cache) = try dense.trainingForward(x)
        let cases: [(String, WritableKeyPath<Dense, Tensor>, [Int], RecurrentError)] = [
            ("Keras-layout weight", \.weight, [4, 12],
             .shapeMismatch(name: "Dense weight (output, input)", expected: [12, 4], actual: [4, 12])),
            ("weight of rank 1", \.weight, [48],
             .shapeMismatch(name: "Dense weight (output, input)", expected: [12, 4], actual: [48])),
            ("weight with a row more", \.weight, [13, 4],
             .shapeMismatch(name: "Dense weight (output, input)", expected: [12, 4], actual: [13, 4])),
            ("short bias", \.bias, [4], .shapeMismatch(name: "Dense bias", expected: [12], actual: [4])),
        ]
        for (label, path, shape, expected) in cases {
            var changed = dense
            changed[keyPath: path] = try randomTensor(shape, seed: 3)
            assertThrows(expected, "\(label): forward") { try changed.forward(x) }
            assertThrows(expected, "\(label): training forward") { try changed.trainingForward(x) }
            var gradients = dense.zeroGradients()
            assertThrows(expected, "\(label): backward") { try changed.backward(outputGradient: y, cache: cache, into: &gradients) }
            XCTAssertEqual(gradients, dense.zeroGradients(), "\(label): nothing written")
        }
    }

    func testDenseRefusesGradientsAndCachesOfOtherShapes() throws {
        let dense = try Dense(inputSize: 4, outputSize: 12, seed: 1)
        let x = try randomTensor([2, 4], seed: 2)
        let (y, cache) = try dense.trainingForward(x)
        var gradients = dense.zeroGradients()
        gradients.weight = try Tensor(shape: [4, 12])
        assertThrows(.shapeMismatch(name: "Dense weight gradient", expected: [12, 4], actual: [4, 12]), "weight gradient") {
            try dense.backward(outputGradient: y, cache: cache, into: &gradients)
        }
        gradients = dense.zeroGradients()
        gradients.bias = try Tensor(shape: [3])
        assertThrows(.shapeMismatch(name: "Dense bias gradient", expected: [12], actual: [3]), "bias gradient") {
            try dense.backward(outputGradient: y, cache: cache, into: &gradients)
        }
        XCTAssertTrue(gradients.weight.scalars.allSatisfy { $0 == 0 }, "the weight gradient is not written")

        let wider = try Dense(inputSize: 8, outputSize: 12, seed: 1)
        let (wideY, wideCache) = try wider.trainingForward(try randomTensor([2, 8], seed: 2))
        var own = dense.zeroGradients()
        XCTAssertThrowsError(try dense.backward(outputGradient: wideY, cache: wideCache, into: &own)) { error in
            guard case .cacheMismatch = error as? RecurrentError else { return XCTFail("\(error)") }
        }
    }

    // MARK: LSTM

    /// The four tensors of one layer-direction, by property and PyTorch name.
    let lstmTensors: [(WritableKeyPath<LSTMDirectionWeights, Tensor>, String, String)] = [
        (\.inputWeights, "inputWeights", "weight_ih"), (\.recurrentWeights, "recurrentWeights", "weight_hh"),
        (\.inputBias, "inputBias", "bias_ih"), (\.recurrentBias, "recurrentBias", "bias_hh"),
    ]

    /// A 2-layer bidirectional LSTM of I = 4, H = 3: `weight_ih_l0` is (12, 4),
    /// `weight_ih_l1` (12, 6), `weight_hh_*` (12, 3), every bias (12).
    func stackedLSTM() throws -> LSTM {
        try LSTM(inputSize: 4, hiddenSize: 3, layerCount: 2, bidirectional: true, seed: 1)
    }

    func testLSTMRefusesEveryReplacedTensorOfEveryLayerAndDirection() throws {
        let lstm = try stackedLSTM()
        let x = try randomTensor([2, 5, 4], seed: 2)
        let (result, cache) = try lstm.trainingForward(x)
        let suffixes = ["_l0", "_l0_reverse", "_l1", "_l1_reverse"]
        for index in 0 ..< 4 {
            for (path, property, pytorchName) in lstmTensors {
                let expected = lstm.layers[index][keyPath: path].dimensions
                // Matrices transposed (same count: Keras's (input, 4H) layout); biases of H instead of 4H.
                let wrong = expected.count == 2 ? [expected[1], expected[0]] : [3]
                var changed = lstm
                changed.layers[index][keyPath: path] = try randomTensor(wrong, seed: 4)
                let error = RecurrentError.shapeMismatch(
                    name: "LSTM layers[\(index)].\(property) (\(pytorchName)\(suffixes[index]))",
                        expected: ShapeRequirement(exactly: expected), actual: wrong)
                let label = "layers[\(index)].\(property)"
                assertThrows(error, "\(label): forward") { try changed.forward(x) }
                assertThrows(error, "\(label): training forward") { try changed.trainingForward(x) }
                var gradients = lstm.zeroGradients()
                assertThrows(error, "\(label): backward") {
                    try changed.backward(outputGradient: result.output, cache: cache, into: &gradients)
                }
            }
        }
    }

    /// The case: a Keras (input, 4H) kernel of the same element count
    /// where PyTorch's (4H, input) belongs, once used silently.
    func testLSTMRefusesAKerasLayoutInputWeight() throws {
        var lstm = try LSTM(inputSize: 4, hiddenSize: 3, seed: 1)
        XCTAssertEqual(lstm.layers[0].inputWeights.dimensions, [12, 4])
        lstm.layers[0].inputWeights = try randomTensor([4, 12], seed: 2)
        assertThrows(.shapeMismatch(name: "LSTM layers[0].inputWeights (weight_ih_l0)", expected: [12, 4], actual: [4, 12]),
                     "forward") { try lstm.forward(try randomTensor([1, 3, 4], seed: 3)) }
        assertThrows(.shapeMismatch(name: "LSTM layers[0].inputWeights (weight_ih_l0)", expected: [12, 4], actual: [4, 12]),
                     "Keras export") { try lstm.kerasWeights() }
        lstm.recomputation = .keepStatesEvery(2)
        XCTAssertThrowsError(try lstm.trainingForward(try randomTensor([1, 3, 4], seed: 3)), "with recomputation")
    }

    func testLSTMRefusesAnotherLayerCountOrDropout() throws {
        let lstm = try stackedLSTM()
        let x = try randomTensor([2, 5, 4], seed: 2)
        var longer = lstm
        longer.layers.append(lstm.layers[3])
        assertThrows(.invalidArgument(name: "LSTM layers", expected: "4 entries (layers x directions)", actual: "5"), "appended") {
            try longer.forward(x)
        }
        var shorter = lstm
        shorter.layers.removeLast(2)
        assertThrows(.invalidArgument(name: "LSTM layers", expected: "4 entries (layers x directions)", actual: "2"), "removed") {
            try shorter.trainingForward(x)
        }
        XCTAssertNoThrow(shorter.zeroGradients(), "gradients follow the sizes, not the edited weights")
        var single = try LSTM(inputSize: 4, hiddenSize: 3, seed: 1)
        single.layers = []
        assertThrows(.invalidArgument(name: "LSTM layers", expected: "1 entries (layers x directions)", actual: "0"), "Keras export") {
            try single.kerasWeights()
        }
        for dropout: Float in [1, -0.5, .nan] {
            var changed = lstm
            changed.dropout = dropout
            assertThrows(.invalidArgument(name: "LSTM dropout", expected: "a probability in 0..<1", actual: "\(dropout)"), "dropout \(dropout)") {
                try changed.trainingForward(x)
            }
        }
    }

    func testLSTMRefusesGradientsOfOtherShapesBeforeWritingAny() throws {
        let lstm = try stackedLSTM()
        let x = try randomTensor([2, 5, 4], seed: 2)
        let (result, cache) = try lstm.trainingForward(x)
        let zeros = lstm.zeroGradients()
        let suffixes = ["_l0", "_l0_reverse", "_l1", "_l1_reverse"]
        for index in 0 ..< 4 {
            for (path, property, pytorchName) in lstmTensors {
                var gradients = zeros
                let expected = gradients.layers[index][keyPath: path].dimensions
                let wrong = expected.count == 2 ? [expected[1], expected[0]] : [expected[0] + 1]
                gradients.layers[index][keyPath: path] = try Tensor(shape: Shape(wrong))
                let before = gradients
                assertThrows(.shapeMismatch(name: "LSTM gradient layers[\(index)].\(property) (\(pytorchName)\(suffixes[index]))",
                                            expected: ShapeRequirement(exactly: expected), actual: wrong), "gradient layers[\(index)].\(property)") {
                    try lstm.backward(outputGradient: result.output, cache: cache, into: &gradients)
                }
                XCTAssertEqual(gradients, before, "nothing written")
            }
        }
    }

    func testLSTMRefusesACacheOfAnotherInputSize() throws {
        let narrow = try LSTM(inputSize: 2, hiddenSize: 3, seed: 1)
        let wide = try LSTM(inputSize: 6, hiddenSize: 3, seed: 1)
        let (result, cache) = try narrow.trainingForward(try randomTensor([2, 5, 2], seed: 2))
        var gradients = wide.zeroGradients()
        XCTAssertThrowsError(try wide.backward(outputGradient: result.output, cache: cache, into: &gradients)) { error in
            guard case .cacheMismatch = error as? RecurrentError else { return XCTFail("\(error)") }
        }
    }

    // MARK: Convolutions and ConvLSTM2D (already checked; kept so)

    func testConvolutionsRefuseReplacedParameters() throws {
        let x = try randomTensor([2, 5, 5, 3], seed: 1)
        let conv = try Conv2D(inputChannels: 3, filters: 2, kernelSize: (3, 3), padding: .same, seed: 1)
        let (y, cache) = try conv.trainingForward(x)
        let pooled = try Sequential([.conv2D(conv), .maxPool2D(try MaxPool2D(poolSize: (2, 2)))])
        let (pooledY, pooledCache) = try pooled.trainingForward(x)
        let cases: [(String, (inout Conv2D) throws -> Void, name: String, expected: [Int], actual: [Int])] = [
            ("kernel with channels and filters swapped", { $0.kernel = try randomTensor([3, 3, 2, 3], seed: 2) },
             "Conv2D kernel", [3, 3, 3, 2], [3, 3, 2, 3]),
            ("bias", { $0.bias = try randomTensor([3], seed: 2) }, "Conv2D bias", [2], [3]),
        ]
        for (label, edit, name, expectedShape, actualShape) in cases {
            var changed = conv
            try edit(&changed)
            let expected = RecurrentError.shapeMismatch(name: name, expected: ShapeRequirement(exactly: expectedShape), actual: actualShape)
            assertThrows(expected, "Conv2D \(label): forward") { try changed.forward(x) }
            assertThrows(expected, "Conv2D \(label): training forward") { try changed.trainingForward(x) }
            var gradients = conv.zeroGradients()
            assertThrows(expected, "Conv2D \(label): backward") { try changed.backward(outputGradient: y, cache: cache, into: &gradients) }
            var stack = pooled
            stack.layers[0] = .conv2D(changed)
            let inLayer = RecurrentError.shapeMismatch(name: "Layer 0 (Conv2D): " + name,
                expected: ShapeRequirement(exactly: expectedShape), actual: actualShape)
            assertThrows(inLayer, "Conv2D \(label): fused with pooling") { try stack.trainingForward(x) }
            var stackGradients = pooled.zeroGradients()
            assertThrows(inLayer, "Conv2D \(label): fused backward") {
                try stack.backward(outputGradient: pooledY, cache: pooledCache, into: &stackGradients)
            }
        }
        var gradients = conv.zeroGradients()
        gradients.kernel = try Tensor(shape: [3, 3, 2, 3])
        assertThrows(.shapeMismatch(name: "Conv2D kernel gradient", expected: [3, 3, 3, 2], actual: [3, 3, 2, 3]), "Conv2D gradient") {
            try conv.backward(outputGradient: y, cache: cache, into: &gradients)
        }

        let up = try Conv2DTranspose(inputChannels: 3, filters: 2, kernelSize: (3, 3), seed: 1)
        let (upY, upCache) = try up.trainingForward(x)
        var changedUp = up
        changedUp.kernel = try randomTensor([3, 3, 3, 2], seed: 2)
        let upError = RecurrentError.shapeMismatch(name: "Conv2DTranspose kernel", expected: [3, 3, 2, 3], actual: [3, 3, 3, 2])
        assertThrows(upError, "Conv2DTranspose: forward") { try changedUp.forward(x) }
        var upGradients = up.zeroGradients()
        assertThrows(upError, "Conv2DTranspose: backward") { try changedUp.backward(outputGradient: upY, cache: upCache, into: &upGradients) }
        upGradients.bias = try Tensor(shape: [3])
        assertThrows(.shapeMismatch(name: "Conv2DTranspose bias gradient", expected: [2], actual: [3]), "Conv2DTranspose gradient") {
            try up.backward(outputGradient: upY, cache: upCache, into: &upGradients)
        }
    }

    func testConvLSTMRefusesReplacedParameters() throws {
        // Kernel (3, 2, 2, 8), recurrent kernel (3, 2, 2, 8), bias (8), peepholes (4, 4, 2) each.
        let layer = try smallConvLSTM(peepholeGrid: (4, 4), seed: 1)
        let x = try randomTensor([2, 3, 4, 4, 2], seed: 2)
        let (result, cache) = try layer.trainingForward(x)
        let cases: [(String, (inout ConvLSTM2D) throws -> Void, RecurrentError)] = [
            ("kernel with its height and width swapped", { $0.kernel = try randomTensor([2, 3, 2, 8], seed: 3) },
             .shapeMismatch(name: "ConvLSTM2D kernel", expected: [3, 2, 2, 8], actual: [2, 3, 2, 8])),
            ("recurrent kernel", { $0.recurrentKernel = try randomTensor([3, 2, 8, 2], seed: 3) },
             .shapeMismatch(name: "ConvLSTM2D recurrent kernel", expected: [3, 2, 2, 8], actual: [3, 2, 8, 2])),
            ("bias", { $0.bias = try randomTensor([2], seed: 3) },
             .shapeMismatch(name: "ConvLSTM2D bias", expected: [8], actual: [2])),
            ("forget-gate peephole", { $0.peepholes!.forget = try randomTensor([2, 4, 4], seed: 3) },
             .shapeMismatch(name: "ConvLSTM2D forget-gate peephole", expected: [4, 4, 2], actual: [2, 4, 4])),
            ("peepholes of another grid", { $0.peepholes = try .zeros(height: 3, width: 3, filters: 2) },
             .shapeMismatch(name: "ConvLSTM2D input-gate peephole (state height, width, filters)", expected: [4, 4, 2], actual: [3, 3, 2])),
        ]
        for (label, edit, expected) in cases {
            var changed = layer
            try edit(&changed)
            assertThrows(expected, "\(label): forward") { try changed.forward(x) }
            assertThrows(expected, "\(label): training forward") { try changed.trainingForward(x) }
            var gradients = layer.zeroGradients()
            XCTAssertThrowsError(try changed.backward(outputGradient: result.output, cache: cache, into: &gradients), "\(label): backward")
            XCTAssertEqual(gradients, layer.zeroGradients(), "\(label): nothing written")
        }
        var gradients = layer.zeroGradients()
        gradients.recurrentKernel = try Tensor(shape: [3, 2, 8, 2])
        assertThrows(.shapeMismatch(name: "ConvLSTM2D recurrent kernel gradient", expected: [3, 2, 2, 8], actual: [3, 2, 8, 2]),
                     "gradient") { try layer.backward(outputGradient: result.output, cache: cache, into: &gradients) }
    }

    // MARK: Models

    func testConvLSTMForecasterRefusesStacksThatNoLongerFit() throws {
        let model = try ConvLSTMForecaster(frameHeight: 4, frameWidth: 4, channels: 1, filters: [2, 3], horizon: 2, seed: 1)
        let frames = try randomTensor([2, 3, 4, 4, 1], seed: 2)
        let (predicted, cache) = try model.trainingForward(frames)
        let stacks = "two non-empty stacks of one depth"
        let cases: [(String, (inout ConvLSTMForecaster) throws -> Void, RecurrentError)] = [
            ("an encoder layer removed", { $0.encoder.removeLast() },
             .invalidArgument(name: "ConvLSTMForecaster stacks", expected: stacks, actual: "1 encoder and 2 forecaster layers")),
            ("a forecaster layer added", { $0.forecaster.append($0.forecaster[1]) },
             .invalidArgument(name: "ConvLSTMForecaster stacks", expected: stacks, actual: "2 encoder and 3 forecaster layers")),
            ("both stacks emptied", { $0.encoder = []; $0.forecaster = [] },
             .invalidArgument(name: "ConvLSTMForecaster stacks", expected: stacks, actual: "0 encoder and 0 forecaster layers")),
            ("a forecaster layer of other filters", {
                $0.forecaster[1] = try ConvLSTM2D(inputChannels: 2, filters: 4, kernelSize: (3, 3), padding: .same)
            }, .shapeMismatch(name: "ConvLSTMForecaster layer 1 filters (forward layers)", expected: [3], actual: [4])),
            ("a 3 x 3 head", { $0.head = try Conv2D(inputChannels: 5, filters: 1, kernelSize: (3, 3), padding: .same) },
             .invalidArgument(name: "ConvLSTMForecaster head", expected: "a 1 x 1 Conv2D of stride 1",
                              actual: "kernel (height: 3, width: 3), strides (height: 1, width: 1)")),
            ("an embedding to other channels", { $0.embedding = try Conv2D(inputChannels: 1, filters: 4, kernelSize: (1, 1)) },
             .shapeMismatch(name: "ConvLSTMForecaster encoder layer 0 input channels (the embedding's filters)",
                            expected: [4], actual: [1])),
        ]
        for (label, edit, expected) in cases {
            var changed = model
            try edit(&changed)
            assertThrows(expected, "\(label): forward") { try changed.forward(frames) }
            assertThrows(expected, "\(label): training forward") { try changed.trainingForward(frames) }
            var gradients = model.zeroGradients()
            assertThrows(expected, "\(label): backward") { try changed.backward(outputGradient: predicted, cache: cache, into: &gradients) }
            assertThrows(expected, "\(label): forecast step") { try changed.step(try randomTensor([2, 4, 4, 1], seed: 3), from: nil) }
            assertThrows(expected, "\(label): footprint") { try changed.activationFootprint(inputDimensions: frames.dimensions) }
        }
        let (_, state) = try model.step(try randomTensor([2, 4, 4, 1], seed: 3), from: nil)
        assertThrows(.invalidArgument(name: "ConvLSTMForecaster state", expected: "one state per encoder layer (2)", actual: "1 states"),
                     "a state of another depth") { try model.step(try randomTensor([2, 4, 4, 1], seed: 3), from: Array(state!.prefix(1))) }
    }

    func testSequentialChecksReshapeAndCropAtEveryPass() throws {
        let original = try Sequential([.dense(try Dense(inputSize: 4, outputSize: 6, seed: 1)), .reshape([2, 3, 1])])
        let x = try randomTensor([2, 4], seed: 2)
        let (y, cache) = try original.trainingForward(x)
        var withCrop = original
        withCrop.layers.append(.crop(height: -1, width: 2))
        let crop = RecurrentError.invalidArgument(name: "Layer 2 (Crop): Crop size", expected: "a height and width of at least 1",
                                                  actual: "(-1, 2)")
        assertThrows(crop, "crop: forward") { try withCrop.forward(x) }
        assertThrows(crop, "crop: training forward") { try withCrop.trainingForward(x) }
        assertThrows(crop, "crop: output dimensions") { try withCrop.outputDimensions(forInput: [2, 4]) }
        var stack = original
        stack.layers[1] = .reshape([-2, -3])          // the same count as (2, 3), signs aside
        let reshape = RecurrentError.invalidArgument(name: "Layer 1 (Reshape): Reshape dimensions",
                                                     expected: "one or more sizes of at least 1", actual: "[-2, -3]")
        assertThrows(reshape, "reshape: forward") { try stack.forward(x) }
        assertThrows(reshape, "reshape: training forward") { try stack.trainingForward(x) }
        var layer = try Dense(inputSize: 4, outputSize: 6, seed: 1)
        layer.weight = try Tensor(shape: [4, 6])
        var dense = original
        dense.layers[0] = .dense(layer)
        var gradients = original.zeroGradients()
        assertThrows(.shapeMismatch(name: "Layer 0 (Dense): Dense weight (output, input)", expected: [6, 4], actual: [4, 6]),
                     "a Dense in the stack") { try dense.backward(outputGradient: y, cache: cache, into: &gradients) }
    }

    func testModelsRefuseTheirPartsReplacedParameters() throws {
        var model = try CNNLSTM(frameHeight: 8, frameWidth: 8, channels: 1, filters: [2], hiddenSize: 3, outputs: 1, seed: 1)
        let frames = try randomTensor([2, 3, 8, 8, 1], seed: 2)
        XCTAssertNoThrow(try model.forward(frames))
        var lstm = model
        lstm.lstm.layers[0].inputBias = try Tensor(shape: [3])
        assertThrows(.shapeMismatch(name: "Layer 1 'lstm' (LSTM): LSTM layers[0].inputBias (bias_ih_l0)", expected: [12], actual: [3]),
                     "CNNLSTM's LSTM") {
            try lstm.trainingForward(frames)
        }
        model.head.weight = try Tensor(shape: [3, 1])
        assertThrows(.shapeMismatch(name: "Layer 2 'head' (Dense): Dense weight (output, input)", expected: [1, 3], actual: [3, 1]),
                     "CNNLSTM's head") {
            try model.forward(frames)
        }
    }
}

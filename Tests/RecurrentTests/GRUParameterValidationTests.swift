import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// As ParameterValidationTests for the LSTM: every GRU tensor replaced with
/// one of the wrong shape (a transpose of the same count included: Keras's
/// (input, 3H) layout) is refused with an error naming it, from forward,
/// training forward and backward; wrong-shaped gradients are refused before
/// anything is written; inputs and states of other shapes name what was expected.
final class GRUParameterValidationTests: XCTestCase {
    func assertThrows<T>(_ expected: RecurrentError, _ label: String, file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> T) {
        XCTAssertThrowsError(try body(), label, file: file, line: line) { error in
            XCTAssertEqual(error as? RecurrentError, expected, "\(label): \(error)", file: file, line: line)
        }
    }

    let tensors: [(WritableKeyPath<GRUDirectionWeights, Tensor>, String, String)] = [
        (\.inputWeights, "inputWeights", "weight_ih"), (\.recurrentWeights, "recurrentWeights", "weight_hh"),
        (\.inputBias, "inputBias", "bias_ih"), (\.recurrentBias, "recurrentBias", "bias_hh"),
    ]
    let suffixes = ["_l0", "_l0_reverse", "_l1", "_l1_reverse"]

    /// A 2-layer bidirectional GRU of I = 4, H = 3: `weight_ih_l0` (9, 4), `weight_ih_l1` (9, 6), biases (9).
    func stackedGRU(resetAfter: Bool = true) throws -> GRU {
        try GRU(inputSize: 4, hiddenSize: 3, layerCount: 2, bidirectional: true, resetAfter: resetAfter, seed: 1)
    }

    func testRefusesEveryReplacedTensorOfEveryLayerAndDirection() throws {
        for resetAfter in [true, false] {
            let gru = try stackedGRU(resetAfter: resetAfter)
            let x = try randomTensor([2, 5, 4], seed: 2)
            let (result, cache) = try gru.trainingForward(x)
            for index in 0 ..< 4 {
                for (path, property, pytorchName) in tensors {
                    let expected = gru.layers[index][keyPath: path].dimensions
                    let wrong = expected.count == 2 ? [expected[1], expected[0]] : [3]
                    var changed = gru
                    changed.layers[index][keyPath: path] = try randomTensor(wrong, seed: 4)
                    let error = RecurrentError.shapeMismatch(
                        name: "GRU layers[\(index)].\(property) (\(pytorchName)\(suffixes[index]))",
                        expected: ShapeRequirement(exactly: expected), actual: wrong)
                    let label = "resetAfter \(resetAfter) layers[\(index)].\(property)"
                    assertThrows(error, "\(label): forward") { try changed.forward(x) }
                    assertThrows(error, "\(label): training forward") { try changed.trainingForward(x) }
                    var gradients = gru.zeroGradients()
                    assertThrows(error, "\(label): backward") {
                        try changed.backward(outputGradient: result.output, cache: cache, into: &gradients)
                    }
                    XCTAssertEqual(gradients, gru.zeroGradients(), "\(label): nothing written")
                }
            }
        }
    }

    func testRefusesAKerasLayoutKernelOnImportAndExport() throws {
        var gru = try GRU(inputSize: 4, hiddenSize: 3, seed: 1)
        gru.layers[0].inputWeights = try randomTensor([4, 9], seed: 2)
        let error = RecurrentError.shapeMismatch(name: "GRU layers[0].inputWeights (weight_ih_l0)", expected: [9, 4], actual: [4, 9])
        assertThrows(error, "forward") { try gru.forward(try randomTensor([1, 3, 4], seed: 3)) }
        assertThrows(error, "Keras export") { try gru.kerasWeights() }
        assertThrows(error, "PyTorch export") { try gru.pytorchSafeTensors() }
        assertThrows(.shapeMismatch(name: "Keras recurrent kernel", expected: [3, 9], actual: [9, 3]), "Keras import") {
            try GRU(kerasKernel: try randomTensor([4, 9], seed: 1), recurrentKernel: try randomTensor([9, 3], seed: 2),
                    bias: try randomTensor([2, 9], seed: 3))
        }
        assertThrows(.shapeMismatch(name: "Keras bias ((2, 3 units) with reset_after, (3 units) without)", expected: [2, 9],
                                    actual: [2, 3]), "Keras bias") {
            try GRU(kerasKernel: try randomTensor([4, 9], seed: 1), recurrentKernel: try randomTensor([3, 9], seed: 2),
                    bias: try randomTensor([2, 3], seed: 3))
        }
    }

    func testRefusesAnotherLayerCountDropoutOrABiasWithoutBias() throws {
        let gru = try stackedGRU()
        let x = try randomTensor([2, 5, 4], seed: 2)
        var longer = gru
        longer.layers.append(gru.layers[3])
        assertThrows(.invalidArgument(name: "GRU layers", expected: "4 entries (layers x directions)", actual: "5"), "appended") {
            try longer.forward(x)
        }
        var changed = gru
        changed.dropout = 1
        assertThrows(.invalidArgument(name: "GRU dropout", expected: "a probability in 0..<1", actual: "1.0"), "dropout") {
            try changed.trainingForward(x)
        }
        var unbiased = try GRU(inputSize: 4, hiddenSize: 3, bias: false, seed: 1)
        XCTAssertEqual(unbiased.namedParameters.map(\.name), ["weight_ih_l0", "weight_hh_l0"])
        unbiased.layers[0].recurrentBias = try randomTensor([9], seed: 5)
        assertThrows(.shapeMismatch(name: "GRU layers[0].recurrentBias (bias_hh_l0)", expected: [0], actual: [9]),
                     "bias without bias") { try unbiased.forward(x) }
        var unbiasedLater = gru
        unbiasedLater.layers[2].inputBias = try Tensor(shape: [0])
        assertThrows(.shapeMismatch(name: "GRU layers[2].inputBias (bias_ih_l1)", expected: [9], actual: [0]),
                     "no bias in a GRU with biases") { try unbiasedLater.trainingForward(x) }
        assertThrows(.shapeMismatch(name: "GRU weights layers[0].inputBias (bias_ih_l0)", expected: [0], actual: [9]),
                     "biased weights for bias: false") {
            try GRU(inputSize: 4, hiddenSize: 3, layerCount: 2, bidirectional: true, bias: false, weights: gru.layers)
        }
    }

    func testRefusesGradientsStatesAndInputsOfOtherShapes() throws {
        let gru = try stackedGRU()
        let x = try randomTensor([2, 5, 4], seed: 2)
        let (result, cache) = try gru.trainingForward(x)
        for index in 0 ..< 4 {
            for (path, property, pytorchName) in tensors {
                var gradients = gru.zeroGradients()
                let expected = gradients.layers[index][keyPath: path].dimensions
                let wrong = expected.count == 2 ? [expected[1], expected[0]] : [expected[0] + 1]
                gradients.layers[index][keyPath: path] = try Tensor(shape: Shape(wrong))
                let before = gradients
                assertThrows(.shapeMismatch(name: "GRU gradient layers[\(index)].\(property) (\(pytorchName)\(suffixes[index]))",
                                            expected: ShapeRequirement(exactly: expected), actual: wrong), "gradient \(index) \(property)") {
                    try gru.backward(outputGradient: result.output, cache: cache, into: &gradients)
                }
                XCTAssertEqual(gradients, before, "nothing written")
            }
        }
        assertThrows(.shapeMismatch(name: "Initial hidden state", expected: [4, 2, 3], actual: [2, 2, 3]), "h0") {
            try gru.forward(x, initialHidden: try Tensor(shape: [2, 2, 3]))
        }
        assertThrows(.shapeMismatch(name: "GRU input", expected: [.any("batch"), .any("timesteps"), .size(4)], actual: [2, 5, 3]),
                     "input") { try gru.forward(try Tensor(shape: [2, 5, 3])) }
        var gradients = gru.zeroGradients()
        assertThrows(.shapeMismatch(name: "Final hidden state gradient", expected: [4, 2, 3], actual: [4, 3, 2]), "dh_n") {
            try gru.backward(outputGradient: result.output, finalHiddenGradient: try Tensor(shape: [4, 3, 2]), cache: cache,
                             into: &gradients)
        }
        let narrow = try GRU(inputSize: 2, hiddenSize: 3, seed: 1)
        let (narrowY, narrowCache) = try narrow.trainingForward(try randomTensor([2, 5, 2], seed: 2))
        let wide = try GRU(inputSize: 6, hiddenSize: 3, seed: 1)
        var wideGradients = wide.zeroGradients()
        XCTAssertThrowsError(try wide.backward(outputGradient: narrowY.output, cache: narrowCache, into: &wideGradients)) { error in
            guard case .cacheMismatch = error as? RecurrentError else { return XCTFail("\(error)") }
        }
    }
}

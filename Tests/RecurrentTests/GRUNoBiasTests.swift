import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// A GRU without biases (PyTorch's `bias=False`, Keras's `use_bias=False`), as
/// the LSTM has it: empty bias tensors that are not parameters, gradients or
/// exported weights; it computes what a GRU with zero biases computes.
final class GRUNoBiasTests: XCTestCase {
    func testBiasesAreEmptyAndNotParameters() throws {
        var gru = try GRU(inputSize: 4, hiddenSize: 3, layerCount: 2, bidirectional: true, bias: false, seed: 1)
        XCTAssertEqual(gru.layers.map(\.inputBias.dimensions), Array(repeating: [0], count: 4))
        XCTAssertEqual(gru.layers.map(\.recurrentBias.dimensions), Array(repeating: [0], count: 4))
        XCTAssertFalse(gru.namedParameters.contains { $0.name.hasPrefix("bias_") })
        XCTAssertEqual(gru.parameterCount, 8)
        XCTAssertEqual(gru.scalarCount, 2 * (9 * 4 + 9 * 3) + 2 * (9 * 6 + 9 * 3))
        let gradients = gru.zeroGradients()
        XCTAssertEqual(gradients.tensors.map(\.dimensions), gru.namedParameters.map(\.tensor.dimensions))
        var visited = 0
        gru.visitParameters { _, _ in visited += 1 }
        XCTAssertEqual(visited, 8)
        XCTAssertEqual(try GRUDirectionWeights.zeros(inputSize: 4, hiddenSize: 3, bias: false).inputBias.dimensions, [0])
    }

    /// Forward, h_n and every weight gradient equal those of the same GRU with zero biases.
    func testEqualsAGRUWithZeroBiases() throws {
        for (resetAfter, bidirectional, returnSequences) in [(true, true, true), (false, false, false), (false, true, true)] {
            let label = "resetAfter \(resetAfter), bidirectional \(bidirectional), returnSequences \(returnSequences)"
            let unbiased = try GRU(inputSize: 5, hiddenSize: 4, layerCount: 2, bidirectional: bidirectional, bias: false,
                                   resetAfter: resetAfter, seed: 3)
            let zeroBiased = try GRU(inputSize: 5, hiddenSize: 4, layerCount: 2, bidirectional: bidirectional,
                                     resetAfter: resetAfter, weights: unbiased.layers.map {
                                         var weights = $0
                                         (weights.inputBias, weights.recurrentBias) = (try Tensor(shape: [12]), try Tensor(shape: [12]))
                                         return weights
                                     })
            let x = try randomTensor([3, 6, 5], seed: 4)
            let lengths = [6, 2, 4]
            let (a, cacheA) = try unbiased.trainingForward(x, lengths: lengths, returnSequences: returnSequences)
            let (b, cacheB) = try zeroBiased.trainingForward(x, lengths: lengths, returnSequences: returnSequences)
            requireClose(compare("\(label) output", actual: a.output.scalars, expected: b.output.scalars, atol: 1e-6, rtol: 1e-6))
            requireClose(compare("\(label) inference", actual: try unbiased.forward(x, lengths: lengths,
                                                                                    returnSequences: returnSequences).output.scalars,
                                 expected: a.output.scalars, atol: 1e-6, rtol: 1e-6))
            let g = try randomTensor(a.output.dimensions, seed: 5)
            var gradientsA = unbiased.zeroGradients(), gradientsB = zeroBiased.zeroGradients()
            let backA = try unbiased.backward(outputGradient: g, finalHiddenGradient: nil, cache: cacheA, into: &gradientsA)
            let backB = try zeroBiased.backward(outputGradient: g, finalHiddenGradient: nil, cache: cacheB, into: &gradientsB)
            requireClose(compare("\(label) dx", actual: backA.input.scalars, expected: backB.input.scalars, atol: 1e-6, rtol: 1e-6))
            for index in gradientsA.layers.indices {
                requireClose(compare("\(label) dW_ih[\(index)]", actual: gradientsA.layers[index].inputWeights.scalars,
                                     expected: gradientsB.layers[index].inputWeights.scalars, atol: 1e-6, rtol: 1e-6))
                requireClose(compare("\(label) dW_hh[\(index)]", actual: gradientsA.layers[index].recurrentWeights.scalars,
                                     expected: gradientsB.layers[index].recurrentWeights.scalars, atol: 1e-6, rtol: 1e-6))
                XCTAssertEqual(gradientsA.layers[index].inputBias.dimensions, [0], "\(label): no bias gradient")
            }
        }
    }

    func testPyTorchStateDictWithoutBiases() throws {
        let gru = try GRU(inputSize: 4, hiddenSize: 3, layerCount: 2, bias: false, seed: 2)
        var tensors: [String: Tensor] = [:]
        for (name, tensor) in gru.namedParameters { tensors[name] = tensor }
        XCTAssertEqual(tensors.keys.sorted(), ["weight_hh_l0", "weight_hh_l1", "weight_ih_l0", "weight_ih_l1"])
        let back = try GRU(pytorchStateDict: tensors)
        XCTAssertFalse(back.hasBias)
        XCTAssertEqual(back.layers, gru.layers)

        var stray = tensors
        stray["bias_hh_l1"] = try Tensor(shape: [9])
        XCTAssertThrowsError(try GRU(pytorchStateDict: stray)) { error in
            guard case let .invalidArgument(name, _, _)? = error as? RecurrentError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "bias_hh_l1")
        }
        let biased = try GRU(inputSize: 4, hiddenSize: 3, layerCount: 2, seed: 2)
        var missing: [String: Tensor] = [:]
        for (name, tensor) in biased.namedParameters where name != "bias_hh_l1" { missing[name] = tensor }
        XCTAssertThrowsError(try GRU(pytorchStateDict: missing)) { error in
            guard case let .missingParameter(name, _)? = error as? RecurrentError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "bias_hh_l1")
        }
    }

    func testKerasWeightsWithoutBiasInBothResetForms() throws {
        for resetAfter in [true, false] {
            let gru = try GRU(inputSize: 5, hiddenSize: 3, bias: false, resetAfter: resetAfter, seed: 6)
            let keras = try gru.kerasWeights()
            XCTAssertNil(keras.bias)
            let file = try gru.kerasSafeTensors(prefix: "gru.")
            XCTAssertEqual(file.names.sorted(), ["gru.kernel", "gru.recurrent_kernel"])
            let back = try GRU(keras: file, prefix: "gru.", resetAfter: resetAfter)
            XCTAssertFalse(back.hasBias)
            XCTAssertEqual(back.resetsAfterProduct, resetAfter)
            XCTAssertEqual(back.layers, gru.layers)
            let direct = try GRU(kerasKernel: keras.kernel, recurrentKernel: keras.recurrentKernel, bias: nil)
            XCTAssertTrue(direct.resetsAfterProduct, "Keras's default reset_after without a bias to tell")
        }
        let kernel = try randomTensor([4, 9], seed: 1), recurrent = try randomTensor([3, 9], seed: 2)
        XCTAssertThrowsError(try GRU(kerasKernel: kernel, recurrentKernel: recurrent, bias: try randomTensor([2, 9], seed: 3),
                                     resetAfter: false), "a reset_after bias for reset_after=False") { error in
            XCTAssertEqual(error as? RecurrentError, .shapeMismatch(
                name: "Keras bias ((2, 3 units) with reset_after, (3 units) without)", expected: [9], actual: [2, 9]))
        }
    }
}

import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// GRU weights out to PyTorch's and Keras's layouts and back give the same GRU
/// (both reset placements; with and without biases), and the Keras layout is
/// the transpose with z and r swapped.
final class GRUInteropTests: XCTestCase {
    func testKerasRoundTripInBothResetForms() throws {
        for resetAfter in [true, false] {
            let gru = try GRU(inputSize: 5, hiddenSize: 3, resetAfter: resetAfter, seed: 7)
            let keras = try gru.kerasWeights()
            XCTAssertEqual(keras.kernel.dimensions, [5, 9])
            XCTAssertEqual(keras.bias?.dimensions, resetAfter ? [2, 9] : [9])
            // Keras's column u of the z block is PyTorch's row H + u (z is PyTorch's second block).
            XCTAssertEqual(keras.kernel.scalars[0 * 9 + 1], gru.layers[0].inputWeights.scalars[(3 + 1) * 5 + 0])
            XCTAssertEqual(keras.recurrentKernel.scalars[2 * 9 + 3 + 2], gru.layers[0].recurrentWeights.scalars[2 * 3 + 2])
            let back = try GRU(keras: try gru.kerasSafeTensors(prefix: "gru."), prefix: "gru.")
            XCTAssertEqual(back.resetsAfterProduct, resetAfter)
            let x = try randomTensor([2, 4, 5], seed: 8)
            requireClose(compare("Keras round trip \(resetAfter)", actual: try back.forward(x).output.scalars,
                                 expected: try gru.forward(x).output.scalars, atol: 1e-6, rtol: 1e-6))
            if resetAfter { XCTAssertEqual(back.layers, gru.layers) }
        }
    }

    func testPyTorchStateDictRoundTripWithAndWithoutBiases() throws {
        for bias in [true, false] {
            let gru = try GRU(inputSize: 4, hiddenSize: 3, layerCount: 2, bidirectional: true, bias: bias, seed: 9)
            let file = try gru.pytorchSafeTensors()
            XCTAssertEqual(file.names.sorted(), gru.namedParameters.map(\.name).sorted())
            var tensors: [String: Tensor] = [:]
            for name in file.names { tensors[name] = try file[name]!.tensor() }
            let back = try GRU(pytorchStateDict: tensors)
            XCTAssertEqual(back.layers, gru.layers)
            XCTAssertEqual(back.hasBias, bias)
            XCTAssertEqual(gru.zeroGradients().tensors.count, gru.namedParameters.count)
        }
        let resetBefore = try GRU(inputSize: 4, hiddenSize: 3, resetAfter: false, seed: 1)
        XCTAssertThrowsError(try resetBefore.pytorchSafeTensors())
    }
}

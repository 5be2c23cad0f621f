import FrameSequencing
import Recurrent
import TestSupport
import XCTest

final class DenseTests: XCTestCase {
    func testFiniteDifferencesForEveryActivation() throws {
        for activation in Activation.allCases {
            // ReLU has a kink at 0 where a central difference of step 1e-2 is wrong:
            // use the first seed whose pre-activations all lie farther than 0.05 from it.
            var seed: UInt64 = 1
            var x = try randomTensor([2, 3, 4], seed: seed)
            var dense = try Dense(inputSize: 4, outputSize: 3, activation: activation, seed: 2)
            while activation == .relu,
                  try Dense(weight: dense.weight, bias: dense.bias).forward(x).scalars.contains(where: { abs($0) < 0.05 }) {
                seed += 1
                x = try randomTensor([2, 3, 4], seed: seed)
            }
            let (y, cache) = try dense.trainingForward(x)
            let g = try randomTensor(y.dimensions, seed: 3)
            var gradients = dense.zeroGradients()
            let dx = try dense.backward(outputGradient: g, cache: cache, into: &gradients)
            let original = dense
            func loss(_ layer: Dense, _ input: Tensor) throws -> Double { dot(try layer.forward(input), g) }
            let results = [
                try finiteDifferenceCheck("input", x, analytic: dx) { try loss(dense, $0) },
                try finiteDifferenceCheck("weight", original.weight, analytic: gradients.weight) {
                    dense.weight = $0; defer { dense = original }; return try loss(dense, x)
                },
                try finiteDifferenceCheck("bias", original.bias, analytic: gradients.bias) {
                    dense.bias = $0; defer { dense = original }; return try loss(dense, x)
                },
            ]
            for result in results where !result.passed { XCTFail("\(activation): \(result)") }
        }
    }

    func testPerTimestepEqualsALoopOverTimesteps() throws {
        let dense = try Dense(inputSize: 5, outputSize: 2, activation: .tanh, seed: 4)
        let x = try randomTensor([3, 4, 5], seed: 5)
        let all = try dense.forward(x)
        XCTAssertEqual(all.dimensions, [3, 4, 2])
        for b in 0 ..< 3 { for t in 0 ..< 4 {
            let row = try Tensor(shape: [1, 5], scalars: Array(x.scalars[(b * 4 + t) * 5 ..< (b * 4 + t + 1) * 5]))
            XCTAssertEqual(try dense.forward(row).scalars, Array(all.scalars[(b * 4 + t) * 2 ..< (b * 4 + t + 1) * 2]))
        } }
        let keras = try dense.kerasWeights()
        XCTAssertEqual(try Dense(kerasKernel: keras.kernel, bias: keras.bias, activation: .tanh).forward(x), all)
        XCTAssertThrowsError(try dense.forward(try randomTensor([2, 4], seed: 1)))
        XCTAssertThrowsError(try Dense(inputSize: 0, outputSize: 1))
    }
}

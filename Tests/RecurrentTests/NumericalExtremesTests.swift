import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// Activations and losses on the largest finite inputs: finite in, finite out
/// (values and gradients), every loss and both reductions; ±infinity and NaN
/// are covered in `ActivationTests` and `TrainingLossEdgeTests`.
final class NumericalExtremesTests: XCTestCase {
    /// Finite values from 0 to the largest Float, both signs, in a count that is
    /// not a multiple of the SIMD width (so the tail path runs too).
    let extremes: [Float] = [
        0, -0.0, 1, -1, 88, -88, 1e4, -1e4, 1e30, -1e30, 3e38, -3e38,
        .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -.leastNormalMagnitude, 17.33,
    ]

    func testEveryActivationIsFiniteAndInRangeForTheLargestInputs() {
        for activation in Activation.allCases {
            var outputs = extremes
            outputs.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count) }
            var gradients = [Float](repeating: 1, count: extremes.count)
            outputs.withUnsafeBufferPointer { y in
                gradients.withUnsafeMutableBufferPointer { activation.backward(output: y.baseAddress!, gradient: $0.baseAddress!, count: y.count) }
            }
            for (index, x) in extremes.enumerated() {
                let (y, g) = (outputs[index], gradients[index])
                XCTAssert(y.isFinite && g.isFinite, "\(activation)(\(x)) = \(y), derivative \(g)")
                switch activation {
                case .sigmoid: XCTAssert((0 ... 1).contains(y) && (0 ... 0.25).contains(g), "sigmoid(\(x)) = \(y), \(g)")
                case .tanh: XCTAssert((-1 ... 1).contains(y) && (0 ... 1).contains(g), "tanh(\(x)) = \(y), \(g)")
                case .relu: XCTAssertEqual(y, max(0, x), "relu(\(x))")
                case .linear: XCTAssertEqual(y, x)
                }
                XCTAssert(activation.derivative(output: y).isFinite)
            }
        }
        // The LSTM's fused kernels use the same approximations on whole vectors.
        var gates = extremes + extremes
        gates.withUnsafeMutableBufferPointer { applySigmoid($0.baseAddress!, count: $0.count) }
        XCTAssert(gates.allSatisfy { (0 ... 1).contains($0) }, "\(gates)")
        gates = extremes + extremes
        gates.withUnsafeMutableBufferPointer { applyTanh($0.baseAddress!, count: $0.count) }
        XCTAssert(gates.allSatisfy { (-1 ... 1).contains($0) }, "\(gates)")
    }

    func testEveryLossIsFiniteForTheLargestPredictionsAndTargets() throws {
        // Predictions and targets at opposite extremes: differences of about 6.8e38,
        // beyond Float32 once squared or summed.
        let count = extremes.count
        let prediction = try Tensor(shape: [count, 1], scalars: extremes)
        let target = try Tensor(shape: [count, 1], scalars: extremes.reversed().map { -$0 })
        let probabilities = try Tensor(shape: [count, 1], scalars: (0 ..< count).map { Float($0 % 2) })
        let weights = try Tensor(shape: [count], scalars: (0 ..< count).map { Float($0 % 3) * 1e3 })
        var losses: [(String, any Loss, Tensor)] = []
        for reduction in [LossReduction.mean, .sum] {
            losses += [
                ("MSE \(reduction)", MeanSquaredError(reduction: reduction), target),
                ("MAE \(reduction)", MeanAbsoluteError(reduction: reduction), target),
                ("Huber \(reduction)", try HuberLoss(delta: 1e30, reduction: reduction), target),
                ("BCE with logits \(reduction)", BinaryCrossEntropyWithLogits(reduction: reduction), probabilities),
                ("BCE \(reduction)", BinaryCrossEntropy(reduction: reduction), probabilities),   // p clamped into [0, 1]
            ]
        }
        for (name, loss, target) in losses {
            for weighting in [nil, weights] {
                let result = try loss.evaluate(prediction: prediction, target: target, weights: weighting)
                XCTAssert(result.value.isFinite, "\(name) = \(result.value)")
                XCTAssert(result.value >= 0, "\(name) = \(result.value)")
                let bad = result.gradient.scalars.firstIndex { !$0.isFinite }
                XCTAssertNil(bad, "\(name) gradient at \(bad ?? -1): \(bad.map { result.gradient.scalars[$0] } ?? 0)")
            }
        }
    }

    func testSoftmaxCrossEntropyIsFiniteForTheLargestLogits() throws {
        let loss = SoftmaxCrossEntropy(reduction: .sum)
        // Rows: the largest logits of both signs; the target is the smallest logit,
        // so the loss is 2 * greatestFiniteMagnitude, beyond Float32, before saturation.
        let logits = try Tensor(shape: [3, 3], scalars: [
            .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0,
            1e30, 1e30, -1e30,
            -.greatestFiniteMagnitude, -.greatestFiniteMagnitude, -.greatestFiniteMagnitude,
        ])
        let result = try loss.evaluate(logits: logits, classes: [1, 2, 0])
        XCTAssertEqual(result.value, .greatestFiniteMagnitude)
        XCTAssert(result.gradient.scalars.allSatisfy { $0.isFinite && abs($0) <= 1 }, "\(result.gradient.scalars)")
        let soft = try loss.evaluate(prediction: logits, target: Tensor(shape: [3, 3], repeating: 1.0 / 3))
        XCTAssert(soft.value.isFinite && soft.gradient.scalars.allSatisfy(\.isFinite), "\(soft.value)")
    }
}

import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Losses on extreme inputs (±1e30, ±inf, NaN) and on the mistakes a caller can make.
final class TrainingLossEdgeTests: XCTestCase {
    private func vector(_ values: [Float]) throws -> Tensor { try Tensor(shape: [values.count], scalars: values) }

    func testBinaryCrossEntropyStaysFiniteForHugeLogits() throws {
        let loss = BinaryCrossEntropyWithLogits(reduction: .sum)
        let cases: [(Float, Float, Float, Float)] = [   // logit, target, loss, gradient
            (1e30, 1, 0, 0), (1e30, 0, 1e30, 1), (-1e30, 0, 0, 0), (-1e30, 1, 1e30, -1), (1e30, 0.25, 0.75e30, 0.75),
            (.infinity, 1, 0, 0), (-.infinity, 0, 0, 0), (.infinity, 0, .infinity, 1), (-.infinity, 0.5, .infinity, -0.5),
        ]
        for (x, y, value, gradient) in cases {
            let result = try loss.evaluate(prediction: vector([x]), target: vector([y]))
            XCTAssert(result.value == value || abs(result.value - value) <= 1e-6 * abs(value), "BCE(\(x), \(y)) = \(result.value)")
            XCTAssertEqual(result.gradient.scalars, [gradient], "dBCE(\(x), \(y))")
        }
        let nan = try loss.evaluate(prediction: vector([.nan, 0]), target: vector([1, 1]))
        XCTAssert(nan.value.isNaN && nan.gradient.scalars[0].isNaN && nan.gradient.scalars[1] == -0.5)
    }

    func testBinaryCrossEntropyOnProbabilitiesStaysFiniteAtAndBeyondTheEnds() throws {
        let loss = BinaryCrossEntropy(reduction: .sum)
        // Outside [0, 1] (a linear head, an overshoot) the probability is clamped into it.
        for p: Float in [0, 1, 1e-30, 1 - 1e-7, -0.5, 1.5, 1e30, -.infinity, .infinity] {
            for y: Float in [0, 0.3, 1] {
                let result = try loss.evaluate(prediction: vector([p]), target: vector([y]))
                XCTAssert(result.value.isFinite && result.value >= 0 && result.value <= 100.0001,
                          "BCE(\(p), \(y)) = \(result.value)")
                XCTAssert(result.gradient.scalars[0].isFinite, "dBCE(\(p), \(y)) = \(result.gradient.scalars[0])")
            }
        }
        let nan = try loss.evaluate(prediction: vector([.nan, 0.5]), target: vector([1, 1]))
        XCTAssert(nan.value.isNaN && nan.gradient.scalars[0].isNaN && nan.gradient.scalars[1] == -2)
    }

    func testSoftmaxCrossEntropyStaysFiniteForHugeLogits() throws {
        let loss = SoftmaxCrossEntropy()
        let huge = try Tensor(shape: [1, 3], scalars: [1e30, -1e30, 0])
        let right = try loss.evaluate(logits: huge, classes: [0])
        XCTAssertEqual(right.value, 0)
        XCTAssertEqual(right.gradient.scalars, [0, 0, 0])
        let wrong = try loss.evaluate(logits: huge, classes: [1])
        XCTAssertEqual(wrong.value, 2e30)
        XCTAssertEqual(wrong.gradient.scalars, [1, -1, 0])

        // +inf logits share the probability; the others get 0.
        let tied = try loss.evaluate(logits: Tensor(shape: [1, 3], scalars: [.infinity, .infinity, 0]), classes: [0])
        XCTAssertEqual(tied.value, Float(log(2.0)), accuracy: 1e-7)
        XCTAssertEqual(tied.gradient.scalars, [-0.5, 0.5, 0])
        // -inf: probability 0; a target there costs +inf, a zero probability target nothing.
        let impossible = try Tensor(shape: [1, 3], scalars: [-.infinity, 1, 2])
        let onImpossible = try loss.evaluate(logits: impossible, classes: [0])
        XCTAssertEqual(onImpossible.value, .infinity)
        XCTAssert(onImpossible.gradient.scalars.allSatisfy(\.isFinite))
        let elsewhere = try loss.evaluate(prediction: impossible, target: Tensor(shape: [1, 3], scalars: [0, 0.5, 0.5]))
        XCTAssert(elsewhere.value.isFinite && elsewhere.gradient.scalars.allSatisfy(\.isFinite))
        XCTAssertEqual(elsewhere.gradient.scalars[0], 0)
        // A row of all -inf is uniform.
        let allLow = try loss.evaluate(logits: Tensor(shape: [1, 4], repeating: -.infinity), classes: [2])
        XCTAssertEqual(allLow.value, Float(log(4.0)), accuracy: 1e-7)
        XCTAssertEqual(allLow.gradient.scalars, [0.25, 0.25, -0.75, 0.25])
        // NaN poisons its row only.
        let poisoned = try loss.evaluate(logits: Tensor(shape: [2, 2], scalars: [.nan, 0, 1, 2]), classes: [1, 1], weights: nil)
        XCTAssert(poisoned.value.isNaN)
        XCTAssert(poisoned.gradient.scalars[0].isNaN && poisoned.gradient.scalars[2].isFinite)
    }

    func testRegressionLossesOnHugeDifferences() throws {
        let huge = try vector([1e30, -1e30])
        let zero = try vector([0, 0])
        // The mean square, 1e60, exceeds Float32: it saturates, and the gradient stays exact.
        let mse = try MeanSquaredError().evaluate(prediction: huge, target: zero)
        XCTAssertEqual(mse.value, .greatestFiniteMagnitude)
        XCTAssertEqual(mse.gradient.scalars, [1e30, -1e30])
        let mae = try MeanAbsoluteError().evaluate(prediction: huge, target: zero)
        XCTAssertEqual(mae.value, 1e30)
        XCTAssertEqual(mae.gradient.scalars, [0.5, -0.5])
        let huber = try HuberLoss(delta: 2).evaluate(prediction: huge, target: zero)
        XCTAssertEqual(huber.value, 2e30, accuracy: 1e24)
        XCTAssertEqual(huber.gradient.scalars, [1, -1])
        // Infinite differences: infinite value, the gradient of the linear losses finite.
        let infinite = try MeanAbsoluteError().evaluate(prediction: vector([.infinity]), target: vector([0]))
        XCTAssertEqual(infinite.value, .infinity)
        XCTAssertEqual(infinite.gradient.scalars, [1])
        let same = try MeanSquaredError().evaluate(prediction: vector([.infinity]), target: vector([.infinity]))
        XCTAssert(same.value.isNaN, "inf - inf is NaN, as in PyTorch")
        let nan = try HuberLoss().evaluate(prediction: vector([.nan]), target: vector([0]))
        XCTAssert(nan.value.isNaN && nan.gradient.scalars[0].isNaN)
    }

    func testCallerMistakesThrow() throws {
        let prediction = try randomTensor([2, 3, 4], seed: 1)
        func expectError(_ label: String, _ body: () throws -> Void) {
            XCTAssertThrowsError(try body(), label) { error in
                XCTAssert(error is RecurrentError, "\(label): \(error)")
                print("\(label): \(error)")
            }
        }
        expectError("target shape") { _ = try MeanSquaredError().evaluate(prediction: prediction, target: try randomTensor([2, 3], seed: 2)) }
        expectError("weights not leading") {
            _ = try MeanSquaredError().evaluate(prediction: prediction, target: prediction, weights: try Tensor(shape: [3, 4]))
        }
        expectError("weights larger than items") {
            _ = try SoftmaxCrossEntropy().evaluate(prediction: prediction, target: prediction, weights: try Tensor(shape: [2, 3, 4]))
        }
        expectError("negative weight") {
            _ = try MeanSquaredError().evaluate(prediction: prediction, target: prediction,
                                                weights: try Tensor(shape: [2], scalars: [1, -1]))
        }
        expectError("NaN weight") {
            _ = try BinaryCrossEntropyWithLogits().evaluate(prediction: prediction, target: prediction,
                                                            weights: try Tensor(shape: [2], scalars: [1, .nan]))
        }
        expectError("class out of range") { _ = try SoftmaxCrossEntropy().evaluate(logits: prediction, classes: [0, 1, 2, 3, 4, 0]) }
        expectError("class count") { _ = try SoftmaxCrossEntropy().evaluate(logits: prediction, classes: [0, 1]) }
        expectError("fractional class") {
            _ = try SoftmaxCrossEntropy().evaluate(prediction: prediction, target: try Tensor(shape: [2, 3], repeating: 0.5))
        }
        expectError("rank-0 logits") { _ = try SoftmaxCrossEntropy().evaluate(logits: try Tensor(shape: []), classes: [0]) }
        expectError("Huber delta") { _ = try HuberLoss(delta: 0) }
    }
}

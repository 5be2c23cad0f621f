import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Losses: every gradient by finite differences (with and without weights, both
/// reductions), values against PyTorch, the masked-mean rule, extreme inputs and
/// the errors a caller can cause.
final class TrainingLossTests: XCTestCase {
    /// (B 2, T 3, F 4) predictions and targets whose differences stay away from the
    /// kinks of MAE (0) and Huber (delta 0.7) by more than the finite-difference step.
    private func regressionPair(seed: UInt64) throws -> (Tensor, Tensor) {
        let target = try randomTensor([2, 3, 4], seed: seed)
        var generator = SeededGenerator(seed: seed + 100)
        let offsets: [Float] = (0 ..< 24).map { _ in
            let magnitude = [0.2, 0.45, 1.1, 1.6][Int(generator.next() % 4)] + 0.1 * generator.nextUnitFloat()
            return generator.next() % 2 == 0 ? magnitude : -magnitude
        }
        let prediction = try Tensor(shape: [2, 3, 4], scalars: zip(target.scalars, offsets).map { $0 + $1 })
        return (prediction, target)
    }

    private let mask = try! Tensor(shape: [2, 3], scalars: [1, 1, 0, 1, 0, 0])
    private let elementWeights = try! randomTensor([2, 3, 4], seed: 77).scalars.map { abs($0) + 0.1 }

    private func checkGradient(_ loss: any Loss, _ prediction: Tensor, _ target: Tensor, weights: Tensor?, _ label: String) throws {
        let analytic = try loss.evaluate(prediction: prediction, target: target, weights: weights).gradient
        let check = try finiteDifferenceCheck(label, prediction, analytic: analytic) {
            Double(try loss.evaluate(prediction: $0, target: target, weights: weights).value)
        }
        print("loss gradient \(check)")
        XCTAssert(check.passed, "\(check)")
    }

    func testEveryLossGradientMatchesFiniteDifferences() throws {
        let (prediction, target) = try regressionPair(seed: 5)
        let probabilities = try Tensor(shape: [2, 3, 4], scalars: try randomTensor([2, 3, 4], seed: 6).scalars.map { ($0 + 1) / 2 })
        let softTargets = try softmaxRows(try randomTensor([2, 3, 4], seed: 7, scale: 2))
        let classes = try Tensor(shape: [2, 3], scalars: [3, 0, 2, 1, 1, 0])
        let weightsByCase: [(String, Tensor?)] = [
            ("unweighted", nil), ("mask (B, T)", mask),
            ("element weights", try Tensor(shape: [2, 3, 4], scalars: elementWeights)),
        ]
        for reduction in LossReduction.allCases {
            for (weightLabel, weights) in weightsByCase {
                let suffix = "\(reduction), \(weightLabel)"
                try checkGradient(MeanSquaredError(reduction: reduction), prediction, target, weights: weights, "MSE \(suffix)")
                try checkGradient(MeanAbsoluteError(reduction: reduction), prediction, target, weights: weights, "MAE \(suffix)")
                try checkGradient(HuberLoss(delta: 0.7, reduction: reduction), prediction, target, weights: weights, "Huber \(suffix)")
                try checkGradient(BinaryCrossEntropyWithLogits(reduction: reduction), prediction, probabilities, weights: weights,
                                  "BCE \(suffix)")
                // Probabilities in (0.3, 0.7): the third derivative ~2/p^3 keeps the 1e-2 step's truncation error small.
                let squeezed = try Tensor(shape: [2, 3, 4], scalars: probabilities.scalars.map { 0.3 + 0.4 * $0 })
                try checkGradient(BinaryCrossEntropy(reduction: reduction), squeezed, softTargets, weights: weights,
                                  "BCE probabilities \(suffix)")
                // Cross-entropy items are rows of the class axis: weights are (B, T) at most.
                let rowWeights = weights?.shape.rank == 3
                    ? try Tensor(shape: [2, 3], scalars: Array(elementWeights.prefix(6))) : weights
                try checkGradient(SoftmaxCrossEntropy(reduction: reduction), prediction, classes, weights: rowWeights,
                                  "CE classes \(suffix)")
                try checkGradient(SoftmaxCrossEntropy(reduction: reduction), prediction, softTargets, weights: rowWeights,
                                  "CE probabilities \(suffix)")
            }
        }
    }

    func testValuesAndGradientsEqualPyTorch() throws {
        // torch.float64 on these inputs: nn.BCELoss(), nn.BCEWithLogitsLoss(), nn.HuberLoss(delta=0.8),
        // nn.CrossEntropyLoss() with classes [2, 0], and reduction='sum' with probabilities.
        let x = try Tensor(shape: [2, 3], scalars: [0.5, -1.25, 3.0, -0.75, 2.0, 0.0])
        let y = try Tensor(shape: [2, 3], scalars: [1.0, 0.0, 0.25, 0.0, 1.0, 0.5])
        let q = try Tensor(shape: [2, 3], scalars: [0.2, 0.3, 0.5, 0.0, 1.0, 0.0])
        let p = try Tensor(shape: [2, 3], scalars: [0.2, 0.9, 0.5, 0.0, 1.0, 0.35])
        let p2 = try Tensor(shape: [2, 2], scalars: [0.0, 1.0, 0.3, 0.7])
        let y2 = try Tensor(shape: [2, 2], scalars: [1.0, 0.0, 0.0, 1.0])
        let cases: [(String, LossValue, Double, [Double])] = [
            // nn.BCELoss(): probabilities including exact 0 and 1 (no NaN, no infinity).
            ("BCELoss", try BinaryCrossEntropy().evaluate(prediction: p, target: y), 0.8909121177139429,
             [-0.8333333333333331, 1.666666666666667, 0.16666666666666666, 0.0, 0.0, -0.1098901098901099]),
            // nn.BCELoss(reduction='sum'): the wrong side of 0 and 1 costs 100 each, gradient -+1e12.
            ("BCELoss sum", try BinaryCrossEntropy(reduction: .sum).evaluate(prediction: p2, target: y2), 200.71334988787748,
             [-1000000003995.8029, 1000000003995.8029, 1.4285714285714286, -1.4285714285714286]),
            ("BCEWithLogitsLoss", try BinaryCrossEntropyWithLogits().evaluate(prediction: x, target: y), 0.7052566024695066,
             [-0.0629234447996909, 0.03711668980421814, 0.1170956878037389, 0.05347021680410117, -0.01986715367035295, 0.0]),
            ("HuberLoss", try HuberLoss(delta: 0.8).evaluate(prediction: x, target: y), 0.5952083333333333,
             [-0.08333333333333333, -0.13333333333333333, 0.13333333333333333, -0.125, 0.13333333333333333, -0.08333333333333333]),
            ("CrossEntropyLoss classes", try SoftmaxCrossEntropy().evaluate(logits: x, classes: [2, 0]), 1.5118465512425254,
             [0.03743560728102014, 0.006505333102685063, -0.04394094038370522, -0.47334702500326487, 0.4169226764923994,
              0.056424348510865516]),
            ("CrossEntropyLoss probabilities sum", try SoftmaxCrossEntropy(reduction: .sum).evaluate(prediction: x, target: q),
             2.048693102485051,
             [-0.12512878543795974, -0.2869893337946299, 0.41211811923258956, 0.053305949993470304, -0.16615464701520122,
              0.11284869702173103]),
        ]
        for (name, result, value, gradient) in cases {
            let tolerance = Tolerance.forward
            let valueCheck = compare(name, actual: [result.value], expected: [Float(value)], atol: tolerance.atol, rtol: tolerance.rtol)
            let gradientCheck = compare(name + " gradient", actual: result.gradient.scalars, expected: gradient.map { Float($0) },
                                        atol: tolerance.atol, rtol: tolerance.rtol)
            XCTAssert(valueCheck.passed && gradientCheck.passed, "\(valueCheck); \(gradientCheck)")
        }
    }

    func testHandComputedRegressionValues() throws {
        let zero = try Tensor(shape: [3], scalars: [0, 0, 0])
        let mse = try MeanSquaredError().evaluate(prediction: Tensor(shape: [3], scalars: [1, 2, 3]), target: zero)
        XCTAssertEqual(mse.value, 14.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(mse.gradient.scalars, [2.0 / 3, 4.0 / 3, 2].map { Float($0) })
        // The subgradient of |d| at 0 is 0, as in PyTorch's L1Loss.
        let mae = try MeanAbsoluteError(reduction: .sum).evaluate(prediction: Tensor(shape: [3], scalars: [1, -2, 0]), target: zero)
        XCTAssertEqual(mae.value, 3)
        XCTAssertEqual(mae.gradient.scalars, [1, -1, 0])
        let huber = try HuberLoss(delta: 1).evaluate(prediction: Tensor(shape: [3], scalars: [0.5, 2, -3]), target: zero)
        XCTAssertEqual(huber.value, (0.125 + 1.5 + 2.5) / 3, accuracy: 1e-6)
        XCTAssertEqual(huber.gradient.scalars, [0.5 / 3, 1.0 / 3, -1.0 / 3].map { Float($0) })
    }

    /// The masked mean divides by the number of valid elements: with a (B, T) mask
    /// over (B, T, F), Keras's rule (mean over F, then over valid timesteps).
    func testMaskedMeanDividesByValidElements() throws {
        let (prediction, target) = try regressionPair(seed: 11)
        let p = prediction.scalars, t = target.scalars
        let valid = [(0, 0), (0, 1), (1, 0)]   // the mask's ones
        var perStep: [Double] = []
        for (b, s) in valid {
            let base = (b * 3 + s) * 4
            perStep.append((0 ..< 4).reduce(0.0) { $0 + pow(Double(p[base + $1]) - Double(t[base + $1]), 2) } / 4)
        }
        let keras = perStep.reduce(0, +) / Double(valid.count)
        let result = try MeanSquaredError().evaluate(prediction: prediction, target: target, weights: mask)
        XCTAssertEqual(Double(result.value), keras, accuracy: 1e-6 * keras)
        let summed = try MeanSquaredError(reduction: .sum).evaluate(prediction: prediction, target: target, weights: mask)
        XCTAssertEqual(Double(summed.value), perStep.reduce(0, +) * 4, accuracy: 1e-5 * keras)

        // Padding may hold anything: NaN and infinity under weight 0 change nothing.
        var dirty = prediction.scalars, dirtyTarget = target.scalars
        dirty[2 * 4] = .nan
        dirtyTarget[5 * 4 + 1] = .infinity
        let clean = try MeanSquaredError().evaluate(prediction: Tensor(shape: [2, 3, 4], scalars: dirty),
                                                    target: Tensor(shape: [2, 3, 4], scalars: dirtyTarget), weights: mask)
        XCTAssertEqual(clean, result)
        XCTAssertEqual(result.gradient.scalars[8 ..< 12].allSatisfy { $0 == 0 }, true)

        // No valid element: value and gradient 0 (divide_no_nan).
        let none = try MeanSquaredError().evaluate(prediction: prediction, target: target, weights: try Tensor(shape: [2, 3]))
        XCTAssertEqual(none.value, 0)
        XCTAssert(none.gradient.scalars.allSatisfy { $0 == 0 })
        let empty = try MeanSquaredError().evaluate(prediction: try Tensor(shape: [0, 3]), target: try Tensor(shape: [0, 3]))
        XCTAssertEqual(empty.value, 0)
    }

    func testClassTargetsAgreeAcrossForms() throws {
        let logits = try randomTensor([2, 3, 5], seed: 21, scale: 3)
        let classes = [4, 0, 2, 1, 3, 3]
        let byList = try SoftmaxCrossEntropy().evaluate(logits: logits, classes: classes, weights: mask)
        let byTensor = try SoftmaxCrossEntropy().evaluate(
            prediction: logits, target: Tensor(shape: [2, 3], scalars: classes.map { Float($0) }), weights: mask)
        var oneHot = [Float](repeating: 0, count: 30)
        for (row, c) in classes.enumerated() { oneHot[row * 5 + c] = 1 }
        let byProbabilities = try SoftmaxCrossEntropy().evaluate(
            prediction: logits, target: Tensor(shape: [2, 3, 5], scalars: oneHot), weights: mask)
        XCTAssertEqual(byList, byTensor)
        XCTAssertEqual(byList.value, byProbabilities.value, accuracy: 1e-6)
        XCTAssert(compare("one-hot gradient", actual: byProbabilities.gradient.scalars, expected: byList.gradient.scalars,
                          atol: 1e-7, rtol: 0).passed)
        // A masked row may hold any index, such as padding's -1.
        XCTAssertNoThrow(try SoftmaxCrossEntropy().evaluate(logits: logits, classes: [4, 0, -1, 1, -1, 99], weights: mask))
    }
}

/// Row-wise softmax over the last axis, in Float64.
func softmaxRows(_ logits: Tensor) throws -> Tensor {
    let width = logits.dimensions.last!
    var values = logits.scalars
    for row in 0 ..< values.count / width {
        let slice = (row * width ..< (row + 1) * width)
        let maximum = values[slice].max()!
        let exps = slice.map { exp(Double(values[$0] - maximum)) }
        let sum = exps.reduce(0, +)
        for (offset, e) in exps.enumerated() { values[row * width + offset] = Float(e / sum) }
    }
    return try Tensor(shape: logits.shape, scalars: values)
}

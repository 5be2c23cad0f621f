import Foundation
import FrameSequencing

/// Softmax cross-entropy over the last axis from logits, PyTorch's
/// `nn.CrossEntropyLoss` (class-index or probability targets) and Keras's
/// `SparseCategoricalCrossentropy` / `CategoricalCrossentropy(from_logits=True)`.
/// Reductions and weights: ``Loss``; an item is one row of the class axis, so
/// `.mean` divides by the number of (valid) rows, as PyTorch does.
///
/// Shapes: logits (..., C), e.g. (B, C) or (B, T, C) per timestep. Targets are
/// either class indices, (...) (the logits' shape without the class axis), given
/// as `[Int]` or as a tensor of whole numbers, or probabilities (..., C) (one-hot
/// or soft). Per row, with `log p = log_softmax(z)` computed as
/// `z - max(z) - log(sum(exp(z - max(z))))` (the stable log-sum-exp):
///
///     class k:        l = -log p_k                 dl/dz = p - onehot(k)
///     probabilities:  l = -sum_c q_c log p_c        dl/dz = p * sum(q) - q
///
/// Edge behaviour: finite logits of any size (±1e30 included) give a finite loss
/// and a gradient in [-1, 1]. Infinite logits are taken as their limit: classes
/// whose logit is -inf get probability 0 (a target on one costs +inf; a
/// probability target of exactly 0 there costs nothing); when some logits are
/// +inf, the probability is shared equally among them and is 0 elsewhere; a row of
/// all -inf is uniform. Gradients stay finite in every such case. A NaN logit or
/// target makes its row's loss and gradient NaN.
///
/// ```swift
/// let loss = SoftmaxCrossEntropy()
/// let byClass = try loss.evaluate(logits: scores, classes: [2, 0, 1])        // scores (3, C)
/// let soft = try loss.evaluate(prediction: scores, target: probabilities)    // probabilities (3, C)
/// ```
public struct SoftmaxCrossEntropy: Loss, Hashable {
    /// How the per-item values become one scalar (``LossReduction``).
    public var reduction: LossReduction

    /// A softmax cross-entropy reduced by `reduction` (default `.mean`).
    public init(reduction: LossReduction = .mean) {
        self.reduction = reduction
    }

    /// The loss of `prediction` (logits, (..., C)) against `target`: class indices
    /// (...) stored as whole numbers when its rank is one less, probabilities
    /// (..., C) when it has the logits' shape.
    ///
    /// - Throws: `shapeMismatch` for any other target shape; `invalidArgument` for a
    ///   class index that is not a whole number in `0 ..< C` on a row whose weight
    ///   is not 0 (rows of weight 0 may hold anything, such as padding's -1).
    public func evaluate(prediction: Tensor, target: Tensor, weights: Tensor?) throws -> LossValue {
        if prediction.shape.rank >= 1, target.dimensions == Array(prediction.dimensions.dropLast()) {
            let classes = target.scalars.map { value -> Int in
                value.isFinite && value == value.rounded() && abs(value) < 1e15 ? Int(value) : Int.min
            }
            return try evaluate(logits: prediction, classes: classes, weights: weights)
        }
        try requireTargetShape(prediction, target, loss: "SoftmaxCrossEntropy")
        let (weighting, classCount) = try validate(prediction, weights)
        return try run(prediction, weighting, classCount, .probabilities(target.scalars))
    }

    /// The loss of `logits` (..., C) against one class index per row, `classes`
    /// holding `count / C` indices in row-major order.
    ///
    /// - Throws: `shapeMismatch` when `classes.count` is not the number of rows,
    ///   `invalidArgument` for an index outside `0 ..< C` on a row of non-zero weight.
    public func evaluate(logits: Tensor, classes: [Int], weights: Tensor? = nil) throws -> LossValue {
        let (weighting, classCount) = try validate(logits, weights)
        guard classes.count == weighting.itemCount else {
            throw RecurrentError.shapeMismatch(name: "SoftmaxCrossEntropy class indices",
                                               expected: ShapeRequirement(exactly: Array(logits.dimensions.dropLast())), actual: [classes.count])
        }
        for (row, index) in classes.enumerated() where !(0 ..< classCount).contains(index) && weighting.weight(ofItem: row) != 0 {
            throw RecurrentError.invalidArgument(
                name: "SoftmaxCrossEntropy class index of row \(row)", expected: "a whole number in 0..<\(classCount)",
                actual: index == Int.min ? "a value that is not a whole number" : "\(index)")
        }
        return try run(logits, weighting, classCount, .classes(classes))
    }

    private func validate(_ logits: Tensor, _ weights: Tensor?) throws -> (LossWeighting, Int) {
        guard let classCount = logits.dimensions.last, classCount >= 1 else {
            throw RecurrentError.invalidArgument(name: "SoftmaxCrossEntropy logits", expected: "shape (..., C) with C >= 1",
                                                 actual: "shape \(logits.dimensions)")
        }
        let weighting = try LossWeighting(weights, itemDimensions: Array(logits.dimensions.dropLast()),
                                          loss: "SoftmaxCrossEntropy")
        return (weighting, classCount)
    }
}

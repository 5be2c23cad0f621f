import FrameSequencing

/// How a loss reduces its per-item values to one scalar.
///
/// An *item* is what the loss scores on its own: one prediction element for the
/// regression losses and ``BinaryCrossEntropyWithLogits``, one row of the class axis
/// for ``SoftmaxCrossEntropy``. With weights `w` (1 for every item when none are
/// given; a weight covers every item below it, see ``Loss``):
///
/// - `mean`: `sum(w * l) / sum(w)`, both sums over items. With a 0/1 mask this is
///   the mean over the valid items only, so padding does not dilute the loss; a
///   (B, T) mask over (B, T, F) items gives Keras's masked loss: the mean over F,
///   then the mean over valid timesteps. Without weights it is PyTorch's
///   `reduction='mean'`. When `sum(w)` is 0 (no valid item, or no item at all) the
///   value and the gradient are 0, as Keras's `divide_no_nan` gives.
/// - `sum`: `sum(w * l)`, PyTorch's `reduction='sum'`.
public enum LossReduction: String, Sendable, Hashable, CaseIterable {
    /// `sum(w * l) / sum(w)`: the (weighted) mean over items.
    case mean
    /// `sum(w * l)`.
    case sum
}

/// A loss summed over elements of a function of each element's prediction and
/// target alone: the regression losses and the binary cross-entropies. Its
/// ``Loss/evaluate(prediction:target:weights:)`` applies the weights and the
/// ``reduction`` to ``element(prediction:target:)``, accumulating in Float64.
public protocol ElementwiseLoss: Loss {
    /// How the per-item values become one scalar (``LossReduction``).
    var reduction: LossReduction { get }
    /// One element's loss and dl/dprediction, in Float64.
    func element(prediction: Double, target: Double) -> (loss: Double, derivative: Double)
}

extension ElementwiseLoss {
    /// The reduced loss and dL/dprediction; prediction, target: the same shape;
    /// weights: leading dimensions of it (see ``Loss``).
    public func evaluate(prediction: Tensor, target: Tensor, weights: Tensor?) throws -> LossValue {
        try pairwiseLoss("\(Self.self)", prediction, target, weights, reduction) { element(prediction: $0, target: $1) }
    }
}

/// A reduced loss and its gradient with respect to the prediction.
public struct LossValue: Sendable, Equatable {
    /// The scalar loss, accumulated in Float64 and rounded once. Finite inputs
    /// give a finite value (saturating at `Float.greatestFiniteMagnitude` when the
    /// true value exceeds it); it is +inf only when an input is infinite, and NaN
    /// only when an input is NaN (see each loss).
    public var value: Float
    /// dL/dprediction, the prediction's shape; 0 wherever the weight is 0.
    public var gradient: Tensor

    /// A loss `value` with its `gradient` (the prediction's shape).
    public init(value: Float, gradient: Tensor) { (self.value, self.gradient) = (value, gradient) }
}

/// A differentiable loss of a prediction against a target: its value and
/// dL/dprediction in one call, so a training loop can drive any loss generically.
///
/// `weights`, when given, holds one non-negative finite weight per item or per
/// group of items: its dimensions are the *leading* dimensions of the items'
/// shape (the prediction's shape; for ``SoftmaxCrossEntropy`` the logits' shape
/// without the class axis), and each weight applies to every item below it. A
/// padded batch's (B, T) mask (`WindowBatch.mask`, `PaddedSequences.mask`) over
/// predictions (B, T, F) or (B, T, H, W, C) is such a weight. Items of weight 0
/// are skipped: they add nothing to the loss and get gradient 0 even when their
/// prediction or target is NaN or infinite (padding may hold anything).
///
/// ```swift
/// let padded = try padSequences(sequences, padding: .post, truncating: .post)   // values (B, T, F), mask (B, T)
/// let result = try MeanSquaredError().evaluate(prediction: y, target: padded.values, weights: padded.mask)
/// result.value      // the mean over the valid timesteps' elements
/// result.gradient   // (B, T, F), 0 at padding: feed it to the model's backward
/// ```
public protocol Loss: Sendable {
    /// How the per-item values become one scalar.
    var reduction: LossReduction { get }

    /// The reduced loss and dL/dprediction.
    ///
    /// - Throws: `shapeMismatch` when `target` or `weights` do not fit `prediction`,
    ///   `invalidArgument` for a negative or non-finite weight.
    func evaluate(prediction: Tensor, target: Tensor, weights: Tensor?) throws -> LossValue
}

extension Loss {
    /// The reduced loss and dL/dprediction without weights: every item counts once.
    public func evaluate(prediction: Tensor, target: Tensor) throws -> LossValue {
        try evaluate(prediction: prediction, target: target, weights: nil)
    }
}

/// Validated loss weights: one weight per `groupSize` consecutive items.
struct LossWeighting {
    let weights: [Float]?
    /// Items each weight covers (the product of the item dimensions it does not name).
    let groupSize: Int
    let itemCount: Int

    /// Checks that `weights` has leading dimensions of `itemDimensions` and holds
    /// finite non-negative values.
    init(_ weights: Tensor?, itemDimensions: [Int], loss: String) throws {
        itemCount = itemDimensions.reduce(1, *)
        guard let weights else {
            self.weights = nil
            groupSize = 1
            return
        }
        let rank = weights.shape.rank
        guard rank >= 1, rank <= itemDimensions.count, Array(itemDimensions.prefix(rank)) == weights.dimensions else {
            throw RecurrentError.shapeMismatch(
                name: "\(loss) weights (the leading dimensions of \(itemDimensions))",
                expected: ShapeRequirement(exactly: Array(itemDimensions.prefix(max(1, min(rank, itemDimensions.count))))),
                actual: weights.dimensions)
        }
        let values = weights.scalars
        if let bad = values.firstIndex(where: { !($0 >= 0 && $0.isFinite) }) {
            throw RecurrentError.invalidArgument(
                name: "\(loss) weight at flat index \(bad)", expected: "a finite value >= 0", actual: "\(values[bad])")
        }
        self.weights = values
        groupSize = values.isEmpty ? 1 : itemCount / values.count
    }

    /// The weight of item `i` (1 without weights).
    @inline(__always)
    func weight(ofItem i: Int) -> Float {
        weights.map { $0[i / groupSize] } ?? 1
    }
}

/// `x` as a Float, saturating at ±`Float.greatestFiniteMagnitude` where a finite
/// Float64 is beyond Float32's range, so finite inputs give finite losses and
/// gradients; infinities and NaN are kept, so a non-finite input still shows.
@inline(__always)
func saturatingFloat(_ x: Double) -> Float {
    guard x.isFinite else { return Float(x) }
    return Float(min(max(x, -Double(Float.greatestFiniteMagnitude)), Double(Float.greatestFiniteMagnitude)))
}

/// Throws `shapeMismatch` unless `target` has the dimensions of `prediction`.
func requireTargetShape(_ prediction: Tensor, _ target: Tensor, loss: String) throws {
    guard prediction.dimensions == target.dimensions else {
        throw RecurrentError.shapeMismatch(name: "\(loss) target", expected: ShapeRequirement(exactly: prediction.dimensions),
                                           actual: target.dimensions)
    }
}

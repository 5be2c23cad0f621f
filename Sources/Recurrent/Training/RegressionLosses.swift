import FrameSequencing

/// Mean squared error `l = (prediction - target)^2` per element, PyTorch's
/// `nn.MSELoss` and Keras's `MeanSquaredError` (reductions and weights: ``Loss``).
///
/// Prediction and target: the same shape, any rank, e.g. (B, T, F) or
/// (B, H, W, C). Gradient: `2 (prediction - target) * w / sum(w)` for `.mean`.
///
/// Edge behaviour: differences are taken in Float64, so finite inputs never give
/// NaN or infinity: where the mean exceeds Float32 (a difference beyond about
/// 1.8e19) the value saturates at `Float.greatestFiniteMagnitude`, and so does a
/// gradient element beyond it (differences near ±`greatestFiniteMagnitude`). An
/// infinite prediction or target gives an infinite loss and gradient; equal
/// infinities give NaN (inf - inf), as in PyTorch.
///
/// ```swift
/// let result = try MeanSquaredError().evaluate(prediction: y, target: t)
/// ```
public struct MeanSquaredError: ElementwiseLoss, Hashable {
    /// How the per-item values become one scalar (``LossReduction``).
    public var reduction: LossReduction

    /// A mean squared error reduced by `reduction` (default `.mean`).
    public init(reduction: LossReduction = .mean) {
        self.reduction = reduction
    }

    /// `(p - t)^2` and its derivative `2 (p - t)`.
    public func element(prediction p: Double, target t: Double) -> (loss: Double, derivative: Double) {
        let d = p - t; return (d * d, 2 * d)
    }
}

/// Mean absolute error `l = |prediction - target|` per element, PyTorch's
/// `nn.L1Loss` and Keras's `MeanAbsoluteError` (reductions and weights: ``Loss``).
///
/// Prediction and target: the same shape, any rank. Gradient: `sign(prediction -
/// target) * w / sum(w)` for `.mean`, with the subgradient 0 where the difference
/// is exactly 0 (PyTorch's choice).
///
/// Edge behaviour: finite for every finite input (a mean beyond Float32, from
/// differences near ±`Float.greatestFiniteMagnitude`, saturates at it); an infinite
/// difference gives an infinite value and a gradient of ±w / sum(w); NaN
/// propagates to value and gradient.
public struct MeanAbsoluteError: ElementwiseLoss, Hashable {
    /// How the per-item values become one scalar (``LossReduction``).
    public var reduction: LossReduction

    /// A mean absolute error reduced by `reduction` (default `.mean`).
    public init(reduction: LossReduction = .mean) {
        self.reduction = reduction
    }

    /// `|p - t|` and its subgradient, 0 at 0.
    public func element(prediction p: Double, target t: Double) -> (loss: Double, derivative: Double) {
        (abs(p - t), signOrNaN(p - t))
    }
}

/// Huber loss with PyTorch's `nn.HuberLoss(delta=)` semantics, per element
/// (reductions and weights: ``Loss``): with `d = prediction - target`,
///
///     l = 0.5 d^2                  if |d| < delta
///     l = delta (|d| - 0.5 delta)  otherwise
///
/// so it is quadratic near 0 and linear (slope `delta`) in the tails; the gradient
/// is `d`, clamped to `[-delta, delta]`. (PyTorch's `SmoothL1Loss(beta)` equals
/// this divided by `beta`; Keras's `Huber` equals it with its mean over the last axis.)
///
/// Prediction and target: the same shape, any rank.
///
/// Edge behaviour: finite for every finite input (a value beyond Float32
/// saturates at `Float.greatestFiniteMagnitude`); an infinite difference gives an
/// infinite value and a gradient of ±delta * w / sum(w); NaN propagates.
public struct HuberLoss: ElementwiseLoss, Hashable {
    /// How the per-item values become one scalar (``LossReduction``).
    public var reduction: LossReduction
    /// Where the loss turns from quadratic to linear, > 0.
    public let delta: Float

    /// A Huber loss with threshold `delta` (PyTorch's default 1).
    ///
    /// - Throws: `invalidArgument` unless `delta` is positive and finite.
    public init(delta: Float = 1, reduction: LossReduction = .mean) throws {
        guard delta > 0, delta.isFinite else {
            throw RecurrentError.invalidArgument(name: "Huber delta", expected: "a positive finite number", actual: "\(delta)")
        }
        self.delta = delta
        self.reduction = reduction
    }

    /// Quadratic within `delta` of the target, linear beyond, and the derivative.
    public func element(prediction p: Double, target t: Double) -> (loss: Double, derivative: Double) {
        let (difference, delta) = (p - t, Double(self.delta))
        let magnitude = abs(difference)
        if magnitude < delta { return (0.5 * difference * difference, difference) }
        return (delta * (magnitude - 0.5 * delta), delta * signOrNaN(difference))
    }
}

/// -1, 0 or 1 by the sign of `x`, NaN for NaN (so a NaN input is not hidden
/// behind a zero gradient).
@inline(__always)
func signOrNaN(_ x: Double) -> Double {
    x > 0 ? 1 : (x < 0 ? -1 : (x == 0 ? 0 : .nan))
}

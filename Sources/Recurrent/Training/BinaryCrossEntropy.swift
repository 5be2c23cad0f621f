import Foundation
import FrameSequencing

/// Binary cross-entropy on logits, PyTorch's `nn.BCEWithLogitsLoss` and Keras's
/// `BinaryCrossentropy(from_logits=True)` without its mean over the last axis
/// (reductions and weights: ``Loss``). Per element, with logit `x` and target
/// probability `y` (usually 0 or 1, any value in [0, 1] for soft labels):
///
///     l = -(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))
///       = (1 - y) max(x, 0) + y max(-x, 0) + log(1 + exp(-|x|))     (the stable form)
///     dl/dx = sigmoid(x) - y
///
/// Prediction (logits) and target: the same shape, any rank, e.g. (B, 1) or
/// (B, T, H, W, 1) for per-pixel masks.
///
/// Edge behaviour: the stable form never exponentiates a positive number, so any
/// finite logit (±1e30 included) gives a finite loss, at most about |x|, and a
/// gradient in [-1, 1]. An infinite logit is the limit of large ones: `x = +inf`
/// with `y = 1` costs 0 (a `0 * inf` term is taken as its limit 0), with `y < 1`
/// costs +inf; the gradient is `1 - y` (or `-y` for `-inf`), finite. NaN
/// propagates to value and gradient.
///
/// ```swift
/// let result = try BinaryCrossEntropyWithLogits().evaluate(prediction: logits, target: labels)
/// ```
public struct BinaryCrossEntropyWithLogits: ElementwiseLoss, Hashable {
    /// How the per-item values become one scalar (``LossReduction``).
    public var reduction: LossReduction

    /// A binary cross-entropy on logits reduced by `reduction` (default `.mean`).
    public init(reduction: LossReduction = .mean) {
        self.reduction = reduction
    }

    /// One logit's loss against a target probability, and dl/dlogit (stable form).
    public func element(prediction x: Double, target y: Double) -> (loss: Double, derivative: Double) {
        if x.isNaN || y.isNaN { return (.nan, .nan) }
        // c * t with the limit 0 for c == 0, so an infinite logit whose side the target
        // fully agrees with costs 0 rather than 0 * inf = NaN.
        func weighted(_ c: Double, _ t: Double) -> Double { c == 0 ? 0 : c * t }
        let loss = weighted(1 - y, x > 0 ? x : 0) + weighted(y, x < 0 ? -x : 0) + log1p(exp(-abs(x)))
        return (loss, stableSigmoid(x) - y)
    }
}

/// The logistic function without overflow: `exp` only of non-positive numbers.
@inline(__always)
func stableSigmoid(_ x: Double) -> Double {
    if x >= 0 { return 1 / (1 + exp(-x)) }
    let e = exp(x)
    return e / (1 + e)
}

/// Binary cross-entropy on probabilities, PyTorch's `nn.BCELoss`: for a model
/// whose output already went through a sigmoid (a forecaster's pixel
/// intensities in [0, 1], whose predictions are fed back as frames). Per
/// element, with prediction `p` and target `y` in [0, 1]:
///
///     l = -(y max(log p, -100) + (1 - y) max(log(1 - p), -100))
///     dl/dp = (p - y) / max(p (1 - p), 1e-12)
///
/// which is PyTorch's value and gradient (the logs clamped at -100, the
/// denominator at 1e-12). Through the sigmoid that produced `p` the gradient
/// becomes `p - y`, the logits form's: unlike the mean squared error's, it does
/// not vanish when the sigmoid saturates on the wrong side, which is what lets
/// a forecaster of sparse bright strokes leave the all-background plateau.
///
/// Edge behaviour: `p` of exactly 0 or 1 gives a finite loss (at most 100 per
/// element) and a finite gradient; a `p` outside [0, 1] is clamped into it
/// for the logs (as `nn.BCELoss` would refuse it, this never returns NaN for
/// finite input). NaN propagates.
///
/// ```swift
/// let result = try BinaryCrossEntropy().evaluate(prediction: frames, target: nextFrames)
/// ```
public struct BinaryCrossEntropy: ElementwiseLoss, Hashable {
    /// How the per-item values become one scalar (``LossReduction``).
    public var reduction: LossReduction

    /// A binary cross-entropy on probabilities reduced by `reduction` (default `.mean`).
    public init(reduction: LossReduction = .mean) {
        self.reduction = reduction
    }

    /// One probability's loss against a target, and dl/dp (clamped logs).
    public func element(prediction p: Double, target y: Double) -> (loss: Double, derivative: Double) {
        if p.isNaN || y.isNaN { return (.nan, .nan) }
        let q = min(max(p, 0), 1)
        let loss = -(y * max(log(q), -100) + (1 - y) * max(log(1 - q), -100))
        return (loss, (q - y) / max(q * (1 - q), 1e-12))
    }
}


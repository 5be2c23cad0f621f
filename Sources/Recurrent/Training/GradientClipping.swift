import FrameSequencing

/// How gradients are limited before an optimizer step (the usual cure for an LSTM
/// loss jumping to NaN), applied in place to a list of gradient tensors of any shapes.
///
/// - `globalNorm(maxNorm:)`: PyTorch's `torch.nn.utils.clip_grad_norm_`. The L2
///   norm `N` of all gradients taken as one vector is computed; every gradient is
///   multiplied by `min(1, maxNorm / (N + 1e-6))`, in PyTorch's Float32 order
///   (`(1 / (N + 1e-6)) * maxNorm`). MATLAB's `'global-l2norm'` is the same
///   without the 1e-6.
/// - `perTensorNorm(threshold:)`: MATLAB's `'l2norm'`. Each tensor whose own L2
///   norm `n` exceeds `threshold` is multiplied by `threshold / n`; the others are
///   unchanged.
/// - `absoluteValue(threshold:)`: MATLAB's `'absolute-value'`. Each element whose
///   magnitude exceeds `threshold` is set to `±threshold`, keeping its sign.
///
/// Non-finite gradients are an error, not something to clip: ``apply(to:)``
/// throws `RecurrentError.nonFinite` naming the first NaN or infinite element (by
/// tensor, then flat index) and leaves every gradient unchanged. This is PyTorch's
/// `error_if_nonfinite=True` made precise; PyTorch's default would instead scale
/// every gradient by NaN or 0 and let the step corrupt the parameters.
///
/// ```swift
/// var gradients: [Tensor] = [weightGradient, biasGradient]   // any shapes
/// let norm = try GradientClipping.globalNorm(maxNorm: 1).apply(to: &gradients)   // the norm before clipping
/// ```
public enum GradientClipping: Sendable, Hashable {
    /// `clip_grad_norm_(max_norm)`: all gradients scaled together when their
    /// global L2 norm exceeds `maxNorm`.
    case globalNorm(maxNorm: Float)
    /// MATLAB's `'l2norm'`: each tensor scaled down to L2 norm `threshold` when above it.
    case perTensorNorm(threshold: Float)
    /// MATLAB's `'absolute-value'`: each element clamped to `[-threshold, threshold]`.
    case absoluteValue(threshold: Float)

    /// Clips `gradients` in place and returns their global L2 norm *before*
    /// clipping (what `clip_grad_norm_` returns), for logging.
    ///
    /// - Throws: `invalidArgument` unless the threshold is > 0 (+inf: never clips);
    ///   `nonFinite` for the first NaN or infinite gradient element, before
    ///   anything is modified.
    /// - Complexity: two passes over the gradients' elements.
    @discardableResult
    public func apply(to gradients: inout [Tensor]) throws -> Float {
        let threshold: Float
        switch self {
        case let .globalNorm(value), let .perTensorNorm(value), let .absoluteValue(value): threshold = value
        }
        guard threshold > 0 else {
            throw RecurrentError.invalidArgument(name: "gradient clipping threshold", expected: "a number > 0", actual: "\(threshold)")
        }
        let squares = try Self.sumsOfSquares(gradients)
        let total = squares.reduce(0, +).squareRoot()   // Float64: finite for any finite Float32 elements
        let totalNorm = Float(total)
        switch self {
        case .globalNorm:
            // PyTorch: clip_coef = max_norm / (total_norm + 1e-6), a float / tensor,
            // evaluated as reciprocal(total_norm + 1e-6) * max_norm in Float32.
            // A norm beyond Float32 (finite elements near 3e38) takes the Float64 path.
            let coefficient = totalNorm.isFinite ? Double((1 / (totalNorm + 1e-6)) * threshold) : Double(threshold) / total
            if coefficient < 1 {
                for i in gradients.indices { scale(&gradients[i], by: coefficient) }
            }
        case .perTensorNorm:
            for (i, sum) in squares.enumerated() {
                let norm = sum.squareRoot()
                if norm > Double(threshold) { scale(&gradients[i], by: Double(threshold) / norm) }
            }
        case .absoluteValue:
            for i in gradients.indices { clamp(&gradients[i], to: threshold) }
        }
        return totalNorm
    }

    /// The L2 norm of all `gradients` taken as one vector (`clip_grad_norm_`'s
    /// total norm), accumulated in Float64 and rounded once; 0 for no gradients.
    ///
    /// - Throws: `nonFinite` for the first NaN or infinite element.
    public static func l2Norm(of gradients: [Tensor]) throws -> Float {
        Float(try sumsOfSquares(gradients).reduce(0, +).squareRoot())
    }
}

import FrameSequencing

/// Keras's `Flatten`: (batch, d1, d2, ...) to (batch, d1 * d2 * ...), in
/// row-major order, so a (B, H, W, C) feature map becomes (B, H * W * C)
/// features for a ``Dense`` or, per timestep, an ``LSTM``.
///
/// A reshape: the output shares the input's storage (no copy), and backward
/// reshapes the gradient back.
public struct Flatten: Sendable {
    /// The layer; it has no parameters.
    public init() {}

    /// The flattened tensor (B, product of the other axes); a rank-1 input (B)
    /// becomes (B, 1).
    ///
    /// - Throws: `shapeMismatch` for a rank-0 input.
    public func forward(_ input: Tensor) throws -> Tensor {
        guard let batch = input.dimensions.first else {
            throw RecurrentError.shapeMismatch(name: "Flatten input (batch, ...)", expected: [.any("batch"), .any("...")], actual: [])
        }
        let features = input.dimensions.dropFirst().reduce(1, *)
        return try input.reshaped(to: Shape([batch, features], names: ["batch", "features"]))
    }

    /// The input's shape, saved for backward.
    public struct Cache: Sendable {
        let inputShape: Shape
    }

    /// ``forward(_:)`` keeping the input's shape.
    public func trainingForward(_ input: Tensor) throws -> (output: Tensor, cache: Cache) {
        (try forward(input), Cache(inputShape: input.shape))
    }

    /// The output gradient (B, features) reshaped to the input's shape.
    ///
    /// - Throws: `shapeMismatch` when it does not have the flattened shape.
    public func backward(outputGradient: Tensor, cache: Cache) throws -> Tensor {
        let dimensions = cache.inputShape.dimensions
        let expected = [dimensions.first ?? 0, dimensions.dropFirst().reduce(1, *)]
        try RecurrentError.requireShape(outputGradient, expected, "Flatten output gradient")
        return try outputGradient.reshaped(to: cache.inputShape)
    }
}

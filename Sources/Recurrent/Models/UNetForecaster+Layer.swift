import FrameSequencing

/// As a ``Layer``, the forecaster reads (B, T, H, W, C) from a zero bottleneck
/// state and returns every step's next-frame prediction (B, T, H, W, C).
/// Padded batches are not supported: the context's lengths must be nil or all full.
extension UNetForecaster: Layer {
    /// (B, T, H, W, C) for frames of the model's (H, W, C).
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        _ = try requireFrames(dimensions)
        return dimensions
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        try Self.requireFull(context.lengths, input)
        return try forward(input, from: nil, context: context).output
    }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        try Self.requireFull(context.lengths, input)
        let result = try trainingForward(input, from: nil, context: context)
        return (result.output, result.cache)
    }

    /// dL/dinput (B, T, H, W, C); no gradient reaches the final state.
    public func backward(outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws -> Tensor {
        try backward(outputGradient: outputGradient, finalStateGradient: nil, cache: cache, into: &gradients).input
    }

    private static func requireFull(_ lengths: [Int]?, _ inputs: Tensor) throws {
        guard let lengths, inputs.shape.rank >= 2 else { return }
        let steps = inputs.dimensions[1]
        if let short = lengths.firstIndex(where: { $0 != steps }) {
            throw RecurrentError.invalidArgument(name: "UNetForecaster lengths", expected: "full sequences of \(steps) steps",
                                                 actual: "length \(lengths[short]) at batch entry \(short)")
        }
    }
}

import FrameSequencing

/// As a ``Layer``, an LSTM reads (B, T, I) batch-major from zero initial states
/// and returns every timestep, (B, T, D * H); the context's lengths mark padded
/// steps and its seed draws the dropout masks between layers. States, layouts and
/// the last step alone are what ``forward(_:initialState:lengths:layout:returnSequences:)``
/// and its training and backward twins take.
extension LSTM: Layer {
    /// (B, T, I) to (B, T, D * H).
    ///
    /// - Throws: `shapeMismatch` unless the input has rank 3 and I features.
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        guard dimensions.count == 3, dimensions[2] == inputSize else {
            throw RecurrentError.shapeMismatch(name: "LSTM input", expected: [.any("batch"), .any("timesteps"), .size(inputSize)],
                                               actual: dimensions)
        }
        return [dimensions[0], dimensions[1], outputSize]
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        try forward(input, lengths: context.lengths).output
    }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: LSTMCache) {
        let (result, cache) = try trainingForward(input, lengths: context.lengths, dropoutSeed: context.dropoutSeed)
        return (result.output, cache)
    }

    /// dL/dinput (B, T, I); no gradient reaches the final state.
    public func backward(outputGradient: Tensor, cache: LSTMCache, into gradients: inout LSTMGradients) throws -> Tensor {
        try backward(outputGradient: outputGradient, finalStateGradient: nil, cache: cache, into: &gradients).input
    }
}

/// As a ``Layer``, a ConvLSTM2D reads (B, T, H, W, C) from zero initial states and
/// returns every timestep, (B, T, H', W', F); the context's lengths mark padded steps.
extension ConvLSTM2D: Layer {
    /// (B, T, H, W, C) to (B, T, H', W', F).
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        try outputDimensions(forInput: dimensions, returnSequences: true)
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        try forward(input, lengths: context.lengths).output
    }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        let (result, cache) = try trainingForward(input, lengths: context.lengths)
        return (result.output, cache)
    }

    /// dL/dinput (B, T, H, W, C); no gradient reaches the final state.
    public func backward(outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws -> Tensor {
        try backward(outputGradient: outputGradient, finalStateGradient: nil, cache: cache, into: &gradients).input
    }
}

import FrameSequencing

/// As a ``Layer``, a ConvLSTM2D reads (B, T, H, W, C) from zero initial states and
/// returns every timestep, (B, T, H', W', F); the context's lengths or mask mark padded steps.
extension ConvLSTM2D: Layer {
    /// (B, T, H, W, C) to (B, T, H', W', F).
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        try outputDimensions(forInput: dimensions, returnSequences: true)
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        try run(input, initialState: nil, lengths: context.lengths, mask: context.mask, returnSequences: true,
                training: false).result.output
    }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        let (result, cache) = try run(input, initialState: nil, lengths: context.lengths, mask: context.mask,
                                      returnSequences: true, training: true)
        return (result.output, cache!)
    }

    /// dL/dinput (B, T, H, W, C); no gradient reaches the final state.
    public func backward(outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws -> Tensor {
        try backward(outputGradient: outputGradient, finalStateGradient: nil, cache: cache, into: &gradients).input
    }
}

extension ConvLSTM2D: Trainable {
    /// `kernel`, `recurrent_kernel`, `bias` (Keras's names), then
    /// `peephole_input`, `peephole_forget`, `peephole_output` when present.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        var result: [(name: String, tensor: Tensor)] = [("kernel", kernel), ("recurrent_kernel", recurrentKernel), ("bias", bias)]
        if let peepholes {
            result += [("peephole_input", peepholes.input), ("peephole_forget", peepholes.forget),
                       ("peephole_output", peepholes.output)]
        }
        return result
    }

    public mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows {
        try body(0, &kernel)
        try body(1, &recurrentKernel)
        try body(2, &bias)
        if peepholes != nil {
            try body(3, &peepholes!.input)
            try body(4, &peepholes!.forget)
            try body(5, &peepholes!.output)
        }
    }
}

extension ConvLSTM2D.Gradients: GradientSet {
    public var tensors: [Tensor] {
        [kernel, recurrentKernel, bias] + (peepholes.map { [$0.input, $0.forget, $0.output] } ?? [])
    }
}

extension ConvLSTM2D: RecurrentLayer {
    public func forward(_ input: Tensor, from state: ConvLSTMState?, returnSequences: Bool, context: LayerContext) throws
        -> (output: Tensor, finalState: ConvLSTMState) {
        let result = try run(input, initialState: state, lengths: context.lengths, mask: context.mask,
                             returnSequences: returnSequences, training: false).result
        return (result.output, result.finalState)
    }

    public func trainingForward(_ input: Tensor, from state: ConvLSTMState?, returnSequences: Bool, context: LayerContext) throws
        -> (output: Tensor, finalState: ConvLSTMState, cache: Cache) {
        let (result, cache) = try run(input, initialState: state, lengths: context.lengths, mask: context.mask,
                                      returnSequences: returnSequences, training: true)
        return (result.output, result.finalState, cache!)
    }

    public var inputFeatures: Int { inputChannels }

    /// Zeros (B, timesteps, H', W', C) on the state's (B, H', W') grid: the input
    /// grid for padding same and stride 1.
    public func zeroInput(timesteps: Int, after state: ConvLSTMState) throws -> Tensor {
        let d = state.hidden.dimensions
        guard d.count == 4 else {
            throw RecurrentError.shapeMismatch(name: "ConvLSTM2D state (batch, height, width, filters)",
                                               expected: [.any("batch"), .any("height"), .any("width"), .size(filters)], actual: d)
        }
        return try Tensor(shape: Shape([d[0], timesteps, d[1], d[2], inputChannels], names: ["batch", "timesteps", "height", "width", "channels"]))
    }
}

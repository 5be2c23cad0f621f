import FrameSequencing

/// Gradients with respect to what a caller passed to a ``ConvLSTM2D`` forward pass.
/// dL/dinput (B, T, H, W, C) and dL/d(h0, c0), each (B, H', W', F): what
/// ``ConvLSTM2D/backward(outputGradient:finalStateGradient:cache:into:)`` returns.
public typealias ConvLSTMInputGradients = (input: Tensor, initialState: ConvLSTMState)

extension ConvLSTM2D {
    /// Gradients of every parameter of a ``ConvLSTM2D``, the same shapes as the
    /// weights; backward adds into them, so several backward calls accumulate
    /// until ``zero()``.
    public struct Gradients: Sendable, Equatable {
        /// dL/dkernel (KH, KW, C, 4F).
        public var kernel: Tensor
        /// dL/drecurrentKernel (KH, KW, F, 4F).
        public var recurrentKernel: Tensor
        /// dL/dbias (4F).
        public var bias: Tensor
        /// dL/d(W_ci, W_cf, W_co), each (H', W', F), or `nil` for a layer without peepholes.
        public var peepholes: ConvLSTMPeepholes?

        /// Sets every gradient to zero.
        public mutating func zero() {
            for keyPath in [\Gradients.kernel, \.recurrentKernel, \.bias] {
                self[keyPath: keyPath].fill(with: 0)
            }
            peepholes?.zero()
        }
    }

    /// Zero gradients of this layer's shapes.
    public func zeroGradients() -> Gradients {
        Gradients(kernel: try! Tensor(shape: kernel.shape), recurrentKernel: try! Tensor(shape: recurrentKernel.shape),
                  bias: try! Tensor(shape: bias.shape),
                  peepholes: peepholes.map { try! ConvLSTMPeepholes.zeros(
                      height: $0.input.dimensions[0], width: $0.input.dimensions[1], filters: filters) })
    }

    /// Backpropagation through time for `L = sum(output * outputGradient) +
    /// sum(h_n * finalStateGradient.hidden) + sum(c_n * finalStateGradient.cell)`.
    ///
    /// Adds every parameter's gradient into `gradients` and returns the gradients
    /// of the input and the initial state. Gradients arriving at the final state
    /// let a long sequence be processed in chunks: pass the next chunk's
    /// initial-state gradient here.
    ///
    /// - Parameters:
    ///   - outputGradient: the shape of the forward output, (B, T, H', W', F) or
    ///     (B, H', W', F), in the output's (processing) order.
    ///   - finalStateGradient: (B, H', W', F) each, or `nil` for zeros.
    ///   - cache: from ``trainingForward(_:initialState:lengths:returnSequences:)``
    ///     of a layer of this configuration.
    ///   - gradients: every parameter's gradient, added to.
    /// For a cache of 0 sequences it returns empty gradients of the input's and
    /// state's shapes and leaves `gradients` as they are, as PyTorch does.
    ///
    /// - Throws: `shapeMismatch` for gradients of the wrong shape, `cacheMismatch`
    ///   for a cache or gradients made by a layer of another configuration.
    /// - Complexity: about twice the forward pass's flops.
    public func backward(
        outputGradient: Tensor, finalStateGradient: ConvLSTMState?, cache: Cache, into gradients: inout Gradients
    ) throws -> ConvLSTMInputGradients {
        try validateParameters()
        let g = cache.geometry
        guard (try? geometryAllowingEmptyBatch(cache.input.dimensions)) == g, cache.hasPeepholes == (peepholes != nil) else {
            throw RecurrentError.cacheMismatch(
                reason: "it was recorded by a ConvLSTM2D of another kernel, stride, dilation, padding, direction or peepholes")
        }
        try RecurrentError.requireShape(outputGradient, cache.outputShape, "ConvLSTM2D output gradient")
        try RecurrentError.requireShape(gradients.kernel, kernel.dimensions, "ConvLSTM2D kernel gradient")
        try RecurrentError.requireShape(gradients.recurrentKernel, recurrentKernel.dimensions,
                                        "ConvLSTM2D recurrent kernel gradient")
        try RecurrentError.requireShape(gradients.bias, bias.dimensions, "ConvLSTM2D bias gradient")
        guard (gradients.peepholes == nil) == (peepholes == nil) else {
            throw RecurrentError.cacheMismatch(reason: "the gradients \(gradients.peepholes == nil ? "lack" : "have") peepholes and the layer does not match")
        }
        if let peepholes {
            try gradients.peepholes!.validate(filters: filters, grid: (peepholes.input.dimensions[0], peepholes.input.dimensions[1]))
        }
        if g.batch == 0 {
            // A batch of 0 sequences: nothing flows, no parameter gradient changes,
            // and no kernel runs.
            let stateShape = [0, g.state.height, g.state.width, filters]
            if let finalStateGradient {
                try RecurrentError.requireShape(finalStateGradient.hidden, stateShape, "ConvLSTM2D final hidden state gradient")
                try RecurrentError.requireShape(finalStateGradient.cell, stateShape, "ConvLSTM2D final cell state gradient")
            }
            return (try Tensor(shape: cache.input.shape),
                    try ConvLSTMState.zeros(batch: 0, height: g.state.height, width: g.state.width, filters: filters))
        }
        guard let plan = cache.plan, plan.movesInput || (cache.returnSequences && plan.movesOutput) else {
            return try backwardKernel(outputGradient: outputGradient, finalStateGradient: finalStateGradient, cache: cache,
                                      into: &gradients)
        }
        let kernelGradient = cache.returnSequences && plan.movesOutput
            ? try Tensor(shape: outputGradient.shape, scalars: plan.kernelOutputGradient(outputGradient.scalars, width: g.stateLength))
            : outputGradient
        var result = try backwardKernel(outputGradient: kernelGradient, finalStateGradient: finalStateGradient, cache: cache,
                                        into: &gradients)
        if plan.movesInput {
            let width = result.input.count / (g.batch * g.timesteps)
            result.input = try Tensor(shape: result.input.shape, scalars: plan.inputGradient(result.input.scalars, width: width))
        }
        return result
    }
}

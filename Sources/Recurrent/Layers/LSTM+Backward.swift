import FrameSequencing

/// Gradients with respect to what a caller passed to the forward pass.
/// dL/dinput (the input's shape) and dL/d(h0, c0), each (L*D, B, H): what
/// ``LSTM/backward(outputGradient:finalStateGradient:cache:into:)`` returns.
public typealias LSTMInputGradients = (input: Tensor, initialState: LSTMState)

extension LSTM {
    /// Backpropagation through time for `L = sum(output * outputGradient) +
    /// sum(h_n * finalStateGradient.hidden) + sum(c_n * finalStateGradient.cell)`.
    ///
    /// Adds every parameter's gradient into `gradients` (zero them between steps
    /// with ``LSTMGradients/zero()``) and returns the gradients of the input and
    /// initial state. Gradients arriving at the final state let a long sequence be
    /// processed in chunks: pass the next chunk's initial-state gradient here.
    ///
    /// - Parameters:
    ///   - outputGradient: the shape of the forward output.
    ///   - finalStateGradient: (L*D, B, H) each, or `nil` for zeros.
    ///   - cache: from ``trainingForward(_:initialState:lengths:layout:returnSequences:dropoutSeed:)``
    ///     of this LSTM with the same weights.
    ///   - gradients: every layer's and direction's parameter gradients, added to.
    /// For a cache of 0 sequences it returns empty gradients of the input's and
    /// state's shapes and leaves `gradients` as they are, as PyTorch does.
    ///
    /// - Throws: `shapeMismatch` for gradients of the wrong shape (every
    ///   tensor of `gradients` is checked before any is written), or weights
    ///   changed as ``forward(_:initialState:lengths:layout:returnSequences:)``
    ///   refuses them; `cacheMismatch` for a cache made by another configuration.
    public func backward(
        outputGradient: Tensor, finalStateGradient: LSTMState?, cache: LSTMCache,
        into gradients: inout LSTMGradients
    ) throws -> LSTMInputGradients {
        try validateParameters()
        let entries = layerCount * directionCount
        guard (cache.segments == nil ? cache.records : cache.checkpoints).count == entries,
              cache.layerInputs.count == layerCount,
              gradients.layers.count == entries else {
            throw RecurrentError.cacheMismatch(
                reason: "it holds \(max(cache.records.count, cache.checkpoints.count)) layer-directions and the gradients \(gradients.layers.count); this LSTM has \(entries)")
        }
        try validateShapes(of: gradients.layers, "LSTM gradient")
        for layer in 0 ..< layerCount where cache.layerInputs[layer].count != cache.batch * cache.timesteps * layerInputSize(layer) {
            throw RecurrentError.cacheMismatch(reason: "layer \(layer)'s input was recorded with another input size")
        }
        try RecurrentError.requireShape(outputGradient, cache.outputShape, "Output gradient")
        if cache.batch == 0 {
            // A batch of 0 sequences (PyTorch's empty batch): nothing flows, no parameter
            // gradient changes, and no kernel runs.
            let stateShape = [entries, 0, hiddenStateSize]
            if let finalStateGradient {
                try RecurrentError.requireShape(finalStateGradient.hidden, stateShape, "Final hidden state gradient")
                try RecurrentError.requireShape(finalStateGradient.cell, [entries, 0, hiddenSize], "Final cell state gradient")
            }
            return (try Tensor(shape: Shape(cache.inputShape)), try LSTMState.zeros(for: self, batch: 0))
        }
        guard let plan = cache.plan, plan.movesInput || (cache.returnSequences && plan.movesOutput) else {
            return try timeLoopsBackward(outputGradient: outputGradient, finalStateGradient: finalStateGradient, cache: cache,
                                         into: &gradients)
        }
        let kernelGradient = cache.returnSequences && plan.movesOutput
            ? try Tensor(shape: outputGradient.shape, scalars: plan.kernelOutputGradient(outputGradient.scalars, width: outputSize))
            : outputGradient
        var result = try timeLoopsBackward(outputGradient: kernelGradient, finalStateGradient: finalStateGradient, cache: cache,
                                           into: &gradients)
        if plan.movesInput {
            result.input = try Tensor(shape: result.input.shape, scalars: plan.inputGradient(result.input.scalars, width: inputSize))
        }
        return result
    }

    /// The backward time loops of the route the forward pass took: the plain
    /// one (projections, recurrent dropout), or the fused ones.
    private func timeLoopsBackward(
        outputGradient: Tensor, finalStateGradient: LSTMState?, cache: LSTMCache, into gradients: inout LSTMGradients
    ) throws -> LSTMInputGradients {
        // A projected LSTM's weights never meet the fused loops, whatever the cache says
        // (the plain loops refuse a record of other sizes).
        if cache.route == .plain || projectionSize > 0 {
            return try plainBackwardKernel(outputGradient: outputGradient, finalStateGradient: finalStateGradient,
                                               cache: cache, into: &gradients)
        }
        return try backwardKernel(outputGradient: outputGradient, finalStateGradient: finalStateGradient, cache: cache,
                                  into: &gradients)
    }

    func checkRecord(_ cache: LSTMCache, rows: Int, index: Int) throws {
        let expected = cache.segments.map { $0.count * 2 * cache.batch * hiddenSize }
            ?? LSTMRecordLayout(rows: rows, hidden: hiddenSize).count
        guard (cache.segments == nil ? cache.records : cache.checkpoints)[index].count == expected else {
            throw RecurrentError.cacheMismatch(reason: "layer-direction \(index) was recorded with other sizes")
        }
    }
}

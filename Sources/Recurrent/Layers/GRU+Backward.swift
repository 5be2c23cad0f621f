import FrameSequencing

/// Gradients with respect to what a caller passed to the forward pass:
/// dL/dinput (the input's shape) and dL/dh0, (L*D, B, H); what
/// ``GRU/backward(outputGradient:finalHiddenGradient:cache:into:)`` returns.
public typealias GRUInputGradients = (input: Tensor, initialHidden: Tensor)

extension GRU {
    /// Backpropagation through time for `L = sum(output * outputGradient) +
    /// sum(h_n * finalHiddenGradient)`.
    ///
    /// Adds every parameter's gradient into `gradients` (zero them between steps
    /// with ``GRUGradients/zero()``) and returns the gradients of the input and
    /// initial state. Gradients arriving at h_n let a long sequence be
    /// processed in chunks: pass the next chunk's h0 gradient here.
    ///
    /// - Parameters:
    ///   - outputGradient: the shape of the forward output.
    ///   - finalHiddenGradient: (L*D, B, H), or `nil` for zeros.
    ///   - cache: from ``trainingForward(_:initialHidden:lengths:layout:returnSequences:dropoutSeed:)``
    ///     of this GRU with the same weights.
    ///   - gradients: every layer's and direction's parameter gradients, added to.
    /// For a cache of 0 sequences it returns empty gradients of the input's and
    /// h0's shapes and leaves `gradients` as they are, as PyTorch does.
    ///
    /// - Throws: `shapeMismatch` for gradients of the wrong shape (every tensor
    ///   of `gradients` is checked before any is written), or weights changed as
    ///   forward refuses them; `cacheMismatch` for a cache made by another configuration.
    public func backward(
        outputGradient: Tensor, finalHiddenGradient: Tensor?, cache: GRUCache, into gradients: inout GRUGradients
    ) throws -> GRUInputGradients {
        try validateParameters()
        let entries = layerCount * directionCount
        guard cache.records.count == entries, cache.layerInputs.count == layerCount, gradients.layers.count == entries else {
            throw RecurrentError.cacheMismatch(
                reason: "it holds \(cache.records.count) layer-directions and the gradients \(gradients.layers.count); this GRU has \(entries)")
        }
        try validateShapes(of: gradients.layers, "GRU gradient")
        let rows = cache.batch * cache.timesteps
        for layer in 0 ..< layerCount where cache.layerInputs[layer].count != rows * layerInputSize(layer) {
            throw RecurrentError.cacheMismatch(reason: "layer \(layer)'s input was recorded with another input size")
        }
        for record in cache.records where record.count != GRURecordLayout(rows: rows, hidden: hiddenSize).count {
            throw RecurrentError.cacheMismatch(reason: "a layer-direction was recorded with other sizes")
        }
        try RecurrentError.requireShape(outputGradient, cache.outputShape, "Output gradient")
        let stateShape = [entries, cache.batch, hiddenSize]
        if let finalHiddenGradient {
            try RecurrentError.requireShape(finalHiddenGradient, stateShape, "Final hidden state gradient")
        }
        if cache.batch == 0 {
            // A batch of 0 sequences (PyTorch's empty batch): nothing flows, no parameter
            // gradient changes, and no kernel runs.
            return (try Tensor(shape: Shape(cache.inputShape)), try zeroState(batch: 0))
        }
        guard let plan = cache.plan, plan.movesInput || (cache.returnSequences && plan.movesOutput) else {
            return try backwardKernel(outputGradient: outputGradient, finalHiddenGradient: finalHiddenGradient, cache: cache,
                                      into: &gradients)
        }
        // The plan's moves in reverse: its output's gradient folded back to the
        // time loops' steps, their input gradient moved back to the caller's.
        let kernelGradient = cache.returnSequences && plan.movesOutput
            ? try Tensor(shape: outputGradient.shape, scalars: plan.kernelOutputGradient(outputGradient.scalars, width: outputSize))
            : outputGradient
        var result = try backwardKernel(outputGradient: kernelGradient, finalHiddenGradient: finalHiddenGradient,
                                        cache: cache, into: &gradients)
        if plan.movesInput {
            result.input = try Tensor(shape: result.input.shape, scalars: plan.inputGradient(result.input.scalars, width: inputSize))
        }
        return result
    }

    /// Backward of `L = sum(output * outputGradient)` alone: dL/dinput.
    public func backward(outputGradient: Tensor, cache: GRUCache, into gradients: inout GRUGradients) throws -> Tensor {
        try backward(outputGradient: outputGradient, finalHiddenGradient: nil, cache: cache, into: &gradients).input
    }
}

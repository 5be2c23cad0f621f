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
        let (batch, steps, hidden, directions) = (cache.batch, cache.timesteps, hiddenSize, directionCount)
        let rows = batch * steps
        let stateShape = [layerCount * directions, batch, hidden]
        var finalHiddenGradient = [Float](repeating: 0, count: stateShape.reduce(1, *))
        var finalCellGradient = finalHiddenGradient
        if let finalStateGradient {
            try RecurrentError.requireShape(finalStateGradient.hidden, stateShape, "Final hidden state gradient")
            try RecurrentError.requireShape(finalStateGradient.cell, stateShape, "Final cell state gradient")
            finalHiddenGradient = finalStateGradient.hidden.scalars
            finalCellGradient = finalStateGradient.cell.scalars
        }
        var layerOutputGradient: [Float]
        if cache.returnSequences {
            layerOutputGradient = outputGradient.scalars
        } else {
            // The last-step output is the top layer's h_n: its gradient joins h_n's.
            let g = outputGradient.scalars
            for direction in 0 ..< directions {
                let index = (layerCount - 1) * directions + direction
                for b in 0 ..< batch {
                    for j in 0 ..< hidden {
                        finalHiddenGradient[(index * batch + b) * hidden + j] += g[(b * directions + direction) * hidden + j]
                    }
                }
            }
            layerOutputGradient = [Float](repeating: 0, count: rows * directions * hidden)
        }

        var initialHiddenGradient = [Float](repeating: 0, count: finalHiddenGradient.count)
        var initialCellGradient = initialHiddenGradient
        var workspace: [Float] = []
        for layer in stride(from: layerCount - 1, through: 0, by: -1) {
            let width = layerInputSize(layer)
            var inputGradient = uninitializedFloats(rows * width)   // overwritten by the first direction
            for direction in 0 ..< directions {
                let index = layer * directions + direction
                let geometry = LSTMSequenceGeometry(batch: batch, timesteps: steps, inputSize: width, hiddenSize: hidden,
                                                    timeMajor: cache.timeMajor, reversed: direction == 1)
                let needed = cache.segments.map { lstmRecomputedWorkspaceCount(geometry, $0) }
                    ?? lstmBackwardWorkspaceCount(geometry)
                if workspace.count < needed { workspace = uninitializedFloats(needed) }   // dA is written whole
                let stateOffset = index * batch * hidden
                try checkRecord(cache, rows: rows, index: index)
                layers[index].withPointers { weights in
                    gradients.layers[index].withMutablePointers { dWi, dWh, dBi, dBh in
                        cache.layerInputs[layer].withUnsafeBufferPointer { x in
                            (cache.segments == nil ? cache.records : cache.checkpoints)[index].withUnsafeBufferPointer { record in
                                layerOutputGradient.withUnsafeBufferPointer { dy in
                                    finalHiddenGradient.withUnsafeBufferPointer { dhn in
                                        finalCellGradient.withUnsafeBufferPointer { dcn in
                                            inputGradient.withUnsafeMutableBufferPointer { dx in
                                                initialHiddenGradient.withUnsafeMutableBufferPointer { dh0 in
                                                    initialCellGradient.withUnsafeMutableBufferPointer { dc0 in
                                                        workspace.withUnsafeMutableBufferPointer { scratch in
                                                            withOptionalPointer(cache.lengths) { lengths in
                                                                if let segments = cache.segments {
                                                                    let states = LSTMCheckpointRows(
                                                                        base: UnsafeMutablePointer(mutating: record.baseAddress!),
                                                                        segments: segments, batch: batch, hidden: hidden)
                                                                    return lstmRecomputedBackward(
                                                                        geometry, input: x.baseAddress!, inputStride: width, weights: weights,
                                                                        lengths: lengths, checkpoints: states,
                                                                        outputGradient: dy.baseAddress! + direction * hidden,
                                                                        outputGradientStride: directions * hidden,
                                                                        finalHiddenGradient: dhn.baseAddress! + stateOffset,
                                                                        finalCellGradient: dcn.baseAddress! + stateOffset,
                                                                        inputGradient: dx.baseAddress!, inputGradientStride: width,
                                                                        accumulateInput: direction == 1,
                                                                        inputWeightsGradient: dWi, recurrentWeightsGradient: dWh,
                                                                        inputBiasGradient: dBi, recurrentBiasGradient: dBh,
                                                                        initialHiddenGradient: dh0.baseAddress! + stateOffset,
                                                                        initialCellGradient: dc0.baseAddress! + stateOffset,
                                                                        workspace: scratch.baseAddress!)
                                                                }
                                                                lstmSequenceBackward(
                                                                    geometry, input: x.baseAddress!, inputStride: width, weights: weights,
                                                                    lengths: lengths, record: record.baseAddress!,
                                                                    outputGradient: dy.baseAddress! + direction * hidden,
                                                                    outputGradientStride: directions * hidden,
                                                                    finalHiddenGradient: dhn.baseAddress! + stateOffset,
                                                                    finalCellGradient: dcn.baseAddress! + stateOffset,
                                                                    inputGradient: dx.baseAddress!, inputGradientStride: width,
                                                                    accumulateInput: direction == 1,
                                                                    inputWeightsGradient: dWi, recurrentWeightsGradient: dWh,
                                                                    inputBiasGradient: dBi, recurrentBiasGradient: dBh,
                                                                    initialHiddenGradient: dh0.baseAddress! + stateOffset,
                                                                    initialCellGradient: dc0.baseAddress! + stateOffset,
                                                                    workspace: scratch.baseAddress!)
                                                            }
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if let mask = cache.dropoutMasks[layer] {
                for i in inputGradient.indices { inputGradient[i] *= mask[i] }
            }
            layerOutputGradient = inputGradient
        }
        let names = ["layers*directions", "batch", "hidden"]
        return (
            input: try Tensor(shape: Shape(cache.inputShape), scalars: layerOutputGradient),
            initialState: LSTMState(hidden: try Tensor(shape: Shape(stateShape, names: names), scalars: initialHiddenGradient),
                                    cell: try Tensor(shape: Shape(stateShape, names: names), scalars: initialCellGradient)))
    }

    private func checkRecord(_ cache: LSTMCache, rows: Int, index: Int) throws {
        let expected = cache.segments.map { $0.count * 2 * cache.batch * hiddenSize }
            ?? LSTMRecordLayout(rows: rows, hidden: hiddenSize).count
        guard (cache.segments == nil ? cache.records : cache.checkpoints)[index].count == expected else {
            throw RecurrentError.cacheMismatch(reason: "layer-direction \(index) was recorded with other sizes")
        }
    }
}

import FrameSequencing

// The LSTM's backward time loops on parameters, caches and gradients the layer
// has validated: the one place their pointers are taken.

extension LSTM {
    /// Backpropagation through time into validated `gradients`: dL/dinput and
    /// dL/d(h0, c0).
    func backwardKernel(
        outputGradient: Tensor, finalStateGradient: LSTMState?, cache: LSTMCache, into gradients: inout LSTMGradients
    ) throws -> LSTMInputGradients {
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
}

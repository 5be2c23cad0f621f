import FrameSequencing

// The GRU's backward time loops on parameters, caches and gradients the layer
// has validated: the one place their pointers are taken.

extension GRU {
    /// Backpropagation through time into validated `gradients`: dL/dinput and dL/dh0.
    func backwardKernel(
        outputGradient: Tensor, finalHiddenGradient: Tensor?, cache: GRUCache, into gradients: inout GRUGradients
    ) throws -> GRUInputGradients {
        let (batch, steps, hidden, directions) = (cache.batch, cache.timesteps, hiddenSize, directionCount)
        let rows = batch * steps
        let stateShape = [layerCount * directions, batch, hidden]
        var finalHiddenGradient = finalHiddenGradient?.scalars ?? [Float](repeating: 0, count: stateShape.reduce(1, *))
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
        var workspace: [Float] = []
        for layer in stride(from: layerCount - 1, through: 0, by: -1) {
            let width = layerInputSize(layer)
            var inputGradient = uninitializedFloats(rows * width)   // overwritten by the first direction
            for direction in 0 ..< directions {
                let index = layer * directions + direction
                let geometry = GRUSequenceGeometry(batch: batch, timesteps: steps, inputSize: width, hiddenSize: hidden,
                                                   timeMajor: cache.timeMajor, reversed: direction == 1,
                                                   resetAfter: resetsAfterProduct)
                let needed = gruBackwardWorkspaceCount(geometry)
                if workspace.count < needed { workspace = uninitializedFloats(needed) }   // written before read
                let stateOffset = index * batch * hidden
                layers[index].withPointers { weights in
                    gradients.layers[index].withMutablePointers { dWi, dWh, dBi, dBh in
                        cache.layerInputs[layer].withUnsafeBufferPointer { x in
                            cache.records[index].withUnsafeBufferPointer { record in
                                layerOutputGradient.withUnsafeBufferPointer { dy in
                                    finalHiddenGradient.withUnsafeBufferPointer { dhn in
                                        inputGradient.withUnsafeMutableBufferPointer { dx in
                                            initialHiddenGradient.withUnsafeMutableBufferPointer { dh0 in
                                                workspace.withUnsafeMutableBufferPointer { scratch in
                                                    withOptionalPointer(cache.lengths) { lengths in
                                                        gruSequenceBackward(
                                                            geometry, input: x.baseAddress!, inputStride: width, weights: weights,
                                                            lengths: lengths, record: record.baseAddress!,
                                                            outputGradient: dy.baseAddress! + direction * hidden,
                                                            outputGradientStride: directions * hidden,
                                                            finalHiddenGradient: dhn.baseAddress! + stateOffset,
                                                            inputGradient: dx.baseAddress!, inputGradientStride: width,
                                                            accumulateInput: direction == 1,
                                                            inputWeightsGradient: dWi, recurrentWeightsGradient: dWh,
                                                            inputBiasGradient: dBi, recurrentBiasGradient: dBh,
                                                            initialHiddenGradient: dh0.baseAddress! + stateOffset,
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
            if let mask = cache.dropoutMasks[layer] {
                for i in inputGradient.indices { inputGradient[i] *= mask[i] }
            }
            layerOutputGradient = inputGradient
        }
        return (input: try Tensor(shape: Shape(cache.inputShape), scalars: layerOutputGradient),
                initialHidden: try Tensor(shape: Shape(stateShape, names: ["layers*directions", "batch", "hidden"]),
                                          scalars: initialHiddenGradient))
    }
}

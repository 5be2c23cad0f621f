import FrameSequencing

// The GRU's forward time loops on parameters, inputs and states the layer has
// validated: the one place their pointers are taken.

extension GRU {
    /// Every layer and direction over `input`, from `initialHidden`: the
    /// result, and with `training` what backward needs.
    func forwardKernel(
        _ input: Tensor, initialHidden state: Tensor, stateShape: [Int], batch: Int, steps: Int, lengths: [Int]?,
        timeMajor: Bool, returnSequences: Bool, training: Bool, dropoutSeed: UInt64
    ) throws -> (result: GRUResult, cache: GRUCache?) {
        let rows = batch * steps
        let (hidden, directions) = (hiddenSize, directionCount)
        var finalHidden = [Float](repeating: 0, count: stateShape.reduce(1, *))
        let initialHidden = state.scalars
        var layerInput = input.scalars
        var layerInputs: [[Float]] = []
        var masks: [[Float]?] = []
        var records: [[Float]] = []
        var dropoutGenerator = SeededGenerator(seed: dropoutSeed)
        // Inference gates are scratch, overwritten whole; a padded batch's
        // record keeps zeros in the rows the kernels skip (backward reads
        // h_{t-1} and m of every row in its products, times zero gradients).
        var gates = training ? [] : uninitializedFloats(rows * 3 * hidden)
        let recordCount = GRURecordLayout(rows: rows, hidden: hidden).count
        func geometry(_ index: Int) -> GRUSequenceGeometry {
            GRUSequenceGeometry(batch: batch, timesteps: steps, inputSize: layerInputSize(index / directions),
                                hiddenSize: hidden, timeMajor: timeMajor, reversed: index % directions == 1,
                                resetAfter: resetsAfterProduct)
        }
        // Inference on unpadded batches reuses the weights as packed by the
        // last such call since they were written; training packs per call.
        let packings = training || lengths != nil ? nil
            : inferencePacking.directions(for: self, path: .active, geometry: geometry)

        for layer in 0 ..< layerCount {
            let width = layerInputSize(layer)
            var mask: [Float]? = nil
            if training && dropout > 0 && layer > 0 {
                let keep = 1 / (1 - dropout)
                mask = (0 ..< rows * width).map { _ in dropoutGenerator.nextUnitFloat() < dropout ? 0 : keep }
                for i in layerInput.indices { layerInput[i] *= mask![i] }
            }
            var output = uninitializedFloats(rows * directions * hidden)
            for direction in 0 ..< directions {
                let index = layer * directions + direction
                var record = !training ? [] : lengths == nil ? uninitializedFloats(recordCount)
                                                              : [Float](repeating: 0, count: recordCount)
                let stateOffset = index * batch * hidden
                layers[index].withPointers { weights in
                    layerInput.withUnsafeBufferPointer { x in
                        output.withUnsafeMutableBufferPointer { y in
                            finalHidden.withUnsafeMutableBufferPointer { hn in
                                initialHidden.withUnsafeBufferPointer { h0 in
                                    withOptionalPointer(lengths) { lengthPointer in
                                        withGRUWorkspace(training: training, record: &record, gates: &gates) { workspace in
                                            gruSequenceForward(
                                                geometry(index), input: x.baseAddress!, inputStride: width, weights: weights,
                                                initialHidden: h0.baseAddress! + stateOffset, lengths: lengthPointer,
                                                output: y.baseAddress! + direction * hidden, outputStride: directions * hidden,
                                                finalHidden: hn.baseAddress! + stateOffset, gates: workspace,
                                                record: training ? workspace : nil, packed: packings?[index])
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                if training { records.append(record) }
            }
            if training {
                layerInputs.append(layerInput)
                masks.append(mask)
            }
            layerInput = output
        }

        let finalState = try Tensor(shape: Shape(stateShape, names: ["layers*directions", "batch", "hidden"]), scalars: finalHidden)
        let output: Tensor
        if returnSequences {
            let dims = timeMajor ? [steps, batch, directions * hidden] : [batch, steps, directions * hidden]
            output = try Tensor(shape: Shape(dims, names: timeMajor ? ["timesteps", "batch", "features"]
                                                                     : ["batch", "timesteps", "features"]),
                                scalars: layerInput)
        } else {
            // The top layer's final hidden state of each direction, side by side.
            var last = [Float](repeating: 0, count: batch * directions * hidden)
            for direction in 0 ..< directions {
                let index = (layerCount - 1) * directions + direction
                for b in 0 ..< batch {
                    for j in 0 ..< hidden {
                        last[(b * directions + direction) * hidden + j] = finalHidden[(index * batch + b) * hidden + j]
                    }
                }
            }
            output = try Tensor(shape: Shape([batch, directions * hidden], names: ["batch", "features"]), scalars: last)
        }
        let result = GRUResult(output: output, finalHidden: finalState)
        guard training else { return (result, nil) }
        return (result, GRUCache(batch: batch, timesteps: steps, timeMajor: timeMajor, returnSequences: returnSequences,
                                 lengths: lengths, layerInputs: layerInputs, dropoutMasks: masks, records: records,
                                 outputShape: output.dimensions, inputShape: input.dimensions))
    }
}

/// Training writes the gates straight into the record; inference into a reused scratch buffer.
private func withGRUWorkspace<R>(
    training: Bool, record: inout [Float], gates: inout [Float], _ body: (UnsafeMutablePointer<Float>) throws -> R
) rethrows -> R {
    if training { return try record.withUnsafeMutableBufferPointer { try body($0.baseAddress!) } }
    return try gates.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
}

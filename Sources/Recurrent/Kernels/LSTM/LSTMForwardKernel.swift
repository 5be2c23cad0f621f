import FrameSequencing

// The LSTM's forward time loops on parameters, inputs and states the layer has
// validated: the one place their pointers are taken.

extension LSTM {
    /// Every layer and direction over `input`, from `state`: the result, and
    /// with `training` what backward needs.
    func forwardKernel(
        _ input: Tensor, state: LSTMState, stateShape: [Int], batch: Int, steps: Int, lengths: [Int]?, timeMajor: Bool,
        returnSequences: Bool, training: Bool, dropoutSeed: UInt64
    ) throws -> (result: LSTMResult, cache: LSTMCache?) {
        let rows = batch * steps
        let (hidden, directions) = (hiddenSize, directionCount)
        var finalHidden = [Float](repeating: 0, count: stateShape.reduce(1, *))
        var finalCell = finalHidden
        let initialHidden = state.hidden.scalars
        let initialCell = state.cell.scalars
        var layerInput = input.scalars
        var layerInputs: [[Float]] = []
        var masks: [[Float]?] = []
        var records: [[Float]] = []
        var checkpoints: [[Float]] = []
        let segments = training ? try recomputation.segments(timesteps: steps) : nil
        let keepsRecord = training && segments == nil
        var dropoutGenerator = SeededGenerator(seed: dropoutSeed)
        // Buffers the kernels overwrite whole are not zeroed first (a memset of
        // megabytes per call): inference gates, each layer's output, and the record
        // of an unpadded batch; a padded batch's record keeps zeros in the rows the
        // kernels skip, which backward multiplies by zero gradients.
        var gates = keepsRecord ? [] : uninitializedFloats(rows * 4 * hidden)
        let recordCount = LSTMRecordLayout(rows: rows, hidden: hidden).count
        // Inference on unpadded batches reuses the weights as packed by the
        // last such call since they were written; training packs per call.
        let packings = training || lengths != nil ? nil : inferencePacking.directions(for: self, path: .active) {
            LSTMSequenceGeometry(batch: batch, timesteps: steps, inputSize: layerInputSize($0 / directions),
                                 hiddenSize: hidden, timeMajor: timeMajor, reversed: $0 % directions == 1)
        }

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
                let geometry = LSTMSequenceGeometry(batch: batch, timesteps: steps, inputSize: width, hiddenSize: hidden,
                                                    timeMajor: timeMajor, reversed: direction == 1)
                var record = !keepsRecord ? [] : lengths == nil ? uninitializedFloats(recordCount)
                                                                : [Float](repeating: 0, count: recordCount)
                var states = segments.map { uninitializedFloats($0.count * 2 * batch * hidden) } ?? []
                let stateOffset = index * batch * hidden
                layers[index].withPointers { weights in
                    layerInput.withUnsafeBufferPointer { x in
                        output.withUnsafeMutableBufferPointer { y in
                            finalHidden.withUnsafeMutableBufferPointer { hn in
                                finalCell.withUnsafeMutableBufferPointer { cn in
                                    initialHidden.withUnsafeBufferPointer { h0 in
                                        initialCell.withUnsafeBufferPointer { c0 in
                                            withOptionalPointer(lengths) { lengthPointer in
                                                withWorkspace(training: keepsRecord, record: &record, gates: &gates) { gatePointer, recordPointer in
                                                    states.withUnsafeMutableBufferPointer { states in
                                                        lstmSequenceForward(
                                                            geometry, input: x.baseAddress!, inputStride: width, weights: weights,
                                                            initialHidden: h0.baseAddress! + stateOffset,
                                                            initialCell: c0.baseAddress! + stateOffset, lengths: lengthPointer,
                                                            output: y.baseAddress! + direction * hidden, outputStride: directions * hidden,
                                                            finalHidden: hn.baseAddress! + stateOffset,
                                                            finalCell: cn.baseAddress! + stateOffset,
                                                            gates: gatePointer, record: recordPointer,
                                                            checkpoints: segments.map {
                                                                LSTMCheckpointRows(base: states.baseAddress!, segments: $0,
                                                                                   batch: batch, hidden: hidden)
                                                            },
                                                            packed: packings?[index])
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
                if keepsRecord { records.append(record) }
                if segments != nil { checkpoints.append(states) }
            }
            if training {
                layerInputs.append(layerInput)
                masks.append(mask)
            }
            layerInput = output
        }

        let stateNames = ["layers*directions", "batch", "hidden"]
        let finalState = LSTMState(hidden: try Tensor(shape: Shape(stateShape, names: stateNames), scalars: finalHidden),
                                   cell: try Tensor(shape: Shape(stateShape, names: stateNames), scalars: finalCell))
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
        let result = LSTMResult(output: output, finalState: finalState)
        guard training else { return (result, nil) }
        return (result, LSTMCache(batch: batch, timesteps: steps, timeMajor: timeMajor, returnSequences: returnSequences,
                                  lengths: lengths, layerInputs: layerInputs, dropoutMasks: masks, records: records,
                                  segments: segments, checkpoints: checkpoints,
                                  outputShape: output.dimensions, inputShape: input.dimensions))
    }
}

/// Calls `body` with a pointer to `values`' elements, or `nil`.
func withOptionalPointer<R>(_ values: [Int]?, _ body: (UnsafePointer<Int>?) throws -> R) rethrows -> R {
    guard let values else { return try body(nil) }
    return try values.withUnsafeBufferPointer { try body($0.baseAddress!) }
}

/// Training with a record writes gates straight into it; inference, and training
/// that keeps checkpoints instead, use a reused scratch buffer.
private func withWorkspace<R>(
    training: Bool, record: inout [Float], gates: inout [Float],
    _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>?) throws -> R
) rethrows -> R {
    if training {
        return try record.withUnsafeMutableBufferPointer { try body($0.baseAddress!, $0.baseAddress!) }
    }
    return try gates.withUnsafeMutableBufferPointer { try body($0.baseAddress!, nil) }
}

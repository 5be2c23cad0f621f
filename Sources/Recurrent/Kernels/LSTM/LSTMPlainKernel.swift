import FrameSequencing

// The time loops of the plain route (LSTMPlainSequence.swift), taken by an
// LSTM with projections and by training with recurrent dropout, on
// parameters, inputs and states the layer has validated: the one place their
// pointers are taken, and where the recurrent dropout masks are drawn.
// Stacking, directions, dropout between layers and the last-step output as
// LSTMForwardKernel.swift and LSTMBackwardKernel.swift assemble them; every
// layer-direction keeps its whole record (``LSTM/recomputation`` applies to
// the fused route only).
//
// Legend: B batch, T timesteps, H hidden (cell) units, P h units (the
// projection size, or H), D directions.

extension LSTM {
    /// Every layer and direction over `input` from `state` (h (L*D, B, P), c
    /// (L*D, B, H)): the result, and with `training` what backward needs.
    /// `recurrentMasks` (per layer-direction, [4, B, P] each) replaces the
    /// masks that training with ``recurrentDropout`` draws from `dropoutSeed`;
    /// without either, no mask applies.
    func plainForwardKernel(
        _ input: Tensor, state: LSTMState, batch: Int, steps: Int, lengths: [Int]?, timeMajor: Bool,
        returnSequences: Bool, training: Bool, dropoutSeed: UInt64, recurrentMasks givenMasks: [[Float]]? = nil
    ) throws -> (result: LSTMResult, cache: LSTMCache?) {
        let rows = batch * steps
        let (hidden, p, directions) = (hiddenSize, hiddenStateSize, directionCount)
        let entries = layerCount * directions
        var finalHidden = [Float](repeating: 0, count: entries * batch * p)
        var finalCell = [Float](repeating: 0, count: entries * batch * hidden)
        let (initialHidden, initialCell) = (state.hidden.scalars, state.cell.scalars)
        var layerInput = input.scalars
        var layerInputs: [[Float]] = [], masks: [[Float]?] = [], records: [[Float]] = []
        var dropoutGenerator = SeededGenerator(seed: dropoutSeed)
        let recordCount = LSTMPlainRecordLayout(rows: rows, hidden: hidden, projection: p).count
        let recurrentMasks = givenMasks ?? (training && recurrentDropout > 0
            ? (0 ..< entries).map { Self.recurrentDropoutMasks(seed: dropoutSeed, index: $0, batch: batch, width: p, rate: recurrentDropout) }
            : nil)
        if let recurrentMasks {
            precondition(recurrentMasks.count == entries && recurrentMasks.allSatisfy { $0.count == 4 * batch * p },
                         "plainForwardKernel: one [4, B, P] mask per layer-direction")
        }
        for layer in 0 ..< layerCount {
            let width = layerInputSize(layer)
            var mask: [Float]? = nil
            if training && dropout > 0 && layer > 0 {
                let keep = 1 / (1 - dropout)
                mask = (0 ..< rows * width).map { _ in dropoutGenerator.nextUnitFloat() < dropout ? 0 : keep }
                for i in layerInput.indices { layerInput[i] *= mask![i] }
            }
            var output = [Float](repeating: 0, count: rows * directions * p)
            for direction in 0 ..< directions {
                let index = layer * directions + direction
                let geometry = LSTMSequenceGeometry(batch: batch, timesteps: steps, inputSize: width, hiddenSize: hidden,
                                                    timeMajor: timeMajor, reversed: direction == 1)
                var record = training ? [Float](repeating: 0, count: recordCount) : []
                let (h0, c0) = (index * batch * p, index * batch * hidden)
                layers[index].withPointers { weights in
                    withOptionalPointer(layers[index].projectionWeights) { projection in
                        withOptionalPointer(recurrentMasks?[index]) { masks in
                            layerInput.withUnsafeBufferPointer { x in
                                output.withUnsafeMutableBufferPointer { y in
                                    finalHidden.withUnsafeMutableBufferPointer { hn in
                                        finalCell.withUnsafeMutableBufferPointer { cn in
                                            initialHidden.withUnsafeBufferPointer { h in
                                                initialCell.withUnsafeBufferPointer { c in
                                                    record.withUnsafeMutableBufferPointer { saved in
                                                        withOptionalPointer(lengths) { lengthPointer in
                                                            lstmPlainForward(
                                                                geometry, projectionSize: p, input: x.baseAddress!, inputStride: width,
                                                                weights: weights, projection: projection, recurrentMasks: masks,
                                                                initialHidden: h.baseAddress! + h0, initialCell: c.baseAddress! + c0,
                                                                lengths: lengthPointer, output: y.baseAddress! + direction * p,
                                                                outputStride: directions * p, finalHidden: hn.baseAddress! + h0,
                                                                finalCell: cn.baseAddress! + c0, record: training ? saved.baseAddress : nil)
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
                if training { records.append(record) }
            }
            if training {
                layerInputs.append(layerInput)
                masks.append(mask)
            }
            layerInput = output
        }
        let names = ["layers*directions", "batch", "hidden"]
        let finalState = LSTMState(hidden: try Tensor(shape: Shape([entries, batch, p], names: names), scalars: finalHidden),
                                   cell: try Tensor(shape: Shape([entries, batch, hidden], names: names), scalars: finalCell))
        let output: Tensor
        if returnSequences {
            let dims = timeMajor ? [steps, batch, directions * p] : [batch, steps, directions * p]
            output = try Tensor(shape: Shape(dims, names: timeMajor ? ["timesteps", "batch", "features"]
                                                                     : ["batch", "timesteps", "features"]),
                                scalars: layerInput)
        } else {
            // The top layer's final h of each direction, side by side.
            var last = [Float](repeating: 0, count: batch * directions * p)
            for direction in 0 ..< directions {
                let index = (layerCount - 1) * directions + direction
                for b in 0 ..< batch {
                    for j in 0 ..< p { last[(b * directions + direction) * p + j] = finalHidden[(index * batch + b) * p + j] }
                }
            }
            output = try Tensor(shape: Shape([batch, directions * p], names: ["batch", "features"]), scalars: last)
        }
        let result = LSTMResult(output: output, finalState: finalState)
        guard training else { return (result, nil) }
        return (result, LSTMCache(batch: batch, timesteps: steps, timeMajor: timeMajor, returnSequences: returnSequences,
                                  lengths: lengths, layerInputs: layerInputs, dropoutMasks: masks, records: records,
                                  segments: nil, checkpoints: [], outputShape: output.dimensions, inputShape: input.dimensions,
                                  route: .plain, recurrentDropoutMasks: recurrentMasks))
    }

    /// Backpropagation through time on the plain route into validated
    /// `gradients`: dL/dinput and dL/d(h0, c0), through the cache's recurrent
    /// dropout masks when it holds them.
    func plainBackwardKernel(
        outputGradient: Tensor, finalStateGradient: LSTMState?, cache: LSTMCache, into gradients: inout LSTMGradients
    ) throws -> LSTMInputGradients {
        let (batch, steps, hidden, p, directions) = (cache.batch, cache.timesteps, hiddenSize, hiddenStateSize, directionCount)
        let rows = batch * steps
        let entries = layerCount * directions
        var finalHiddenGradient = [Float](repeating: 0, count: entries * batch * p)
        var finalCellGradient = [Float](repeating: 0, count: entries * batch * hidden)
        if let finalStateGradient {
            try RecurrentError.requireShape(finalStateGradient.hidden, [entries, batch, p], "Final hidden state gradient")
            try RecurrentError.requireShape(finalStateGradient.cell, [entries, batch, hidden], "Final cell state gradient")
            finalHiddenGradient = finalStateGradient.hidden.scalars
            finalCellGradient = finalStateGradient.cell.scalars
        }
        let recordCount = LSTMPlainRecordLayout(rows: rows, hidden: hidden, projection: p).count
        guard cache.segments == nil, cache.records.allSatisfy({ $0.count == recordCount }),
              cache.recurrentDropoutMasks?.allSatisfy({ $0.count == 4 * batch * p }) ?? true else {
            throw RecurrentError.cacheMismatch(reason: "it was recorded by an LSTM of other sizes or on another route")
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
                    for j in 0 ..< p { finalHiddenGradient[(index * batch + b) * p + j] += g[(b * directions + direction) * p + j] }
                }
            }
            layerOutputGradient = [Float](repeating: 0, count: rows * directions * p)
        }
        var initialHiddenGradient = [Float](repeating: 0, count: finalHiddenGradient.count)
        var initialCellGradient = [Float](repeating: 0, count: finalCellGradient.count)
        for layer in stride(from: layerCount - 1, through: 0, by: -1) {
            let width = layerInputSize(layer)
            var inputGradient = [Float](repeating: 0, count: rows * width)
            for direction in 0 ..< directions {
                let index = layer * directions + direction
                let geometry = LSTMSequenceGeometry(batch: batch, timesteps: steps, inputSize: width, hiddenSize: hidden,
                                                    timeMajor: cache.timeMajor, reversed: direction == 1)
                let (h0, c0) = (index * batch * p, index * batch * hidden)
                // dW_hr moved out while the other four are written (no copy: one owner at a time).
                var projectionGradient = gradients.layers[index].projectionWeights
                gradients.layers[index].projectionWeights = nil
                defer { gradients.layers[index].projectionWeights = projectionGradient }
                layers[index].withPointers { weights in
                    withOptionalPointer(layers[index].projectionWeights) { projection in
                        withOptionalPointer(cache.recurrentDropoutMasks?[index]) { masks in
                            withOptionalMutablePointer(&projectionGradient) { dWhr in
                                gradients.layers[index].withMutablePointers { dWi, dWh, dBi, dBh in
                                    cache.layerInputs[layer].withUnsafeBufferPointer { x in
                                        cache.records[index].withUnsafeBufferPointer { record in
                                            layerOutputGradient.withUnsafeBufferPointer { dy in
                                                finalHiddenGradient.withUnsafeBufferPointer { dhn in
                                                    finalCellGradient.withUnsafeBufferPointer { dcn in
                                                        inputGradient.withUnsafeMutableBufferPointer { dx in
                                                            initialHiddenGradient.withUnsafeMutableBufferPointer { dh0 in
                                                                initialCellGradient.withUnsafeMutableBufferPointer { dc0 in
                                                                    withOptionalPointer(cache.lengths) { lengths in
                                                                        lstmPlainBackward(
                                                                            geometry, projectionSize: p, input: x.baseAddress!,
                                                                            inputStride: width, weights: weights,
                                                                            projection: projection, recurrentMasks: masks,
                                                                            lengths: lengths,
                                                                            record: record.baseAddress!,
                                                                            outputGradient: dy.baseAddress! + direction * p,
                                                                            outputGradientStride: directions * p,
                                                                            finalHiddenGradient: dhn.baseAddress! + h0,
                                                                            finalCellGradient: dcn.baseAddress! + c0,
                                                                            inputGradient: dx.baseAddress!, inputGradientStride: width,
                                                                            accumulateInput: direction == 1,
                                                                            inputWeightsGradient: dWi, recurrentWeightsGradient: dWh,
                                                                            inputBiasGradient: dBi, recurrentBiasGradient: dBh,
                                                                            projectionGradient: dWhr,
                                                                            initialHiddenGradient: dh0.baseAddress! + h0,
                                                                            initialCellGradient: dc0.baseAddress! + c0)
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
            initialState: LSTMState(hidden: try Tensor(shape: Shape([entries, batch, p], names: names), scalars: initialHiddenGradient),
                                    cell: try Tensor(shape: Shape([entries, batch, hidden], names: names), scalars: initialCellGradient)))
    }
}

extension LSTM {
    /// The recurrent dropout masks of layer-direction `index` for a training
    /// pass seeded with `seed`: M_i, M_f, M_g, M_o ([4, B, P]), each entry 0
    /// with probability `rate`, else 1 / (1 - rate) (inverted dropout, as
    /// Keras's `backend.random.dropout`). Every layer-direction draws from its
    /// own generator, apart from the one for dropout between layers (whose
    /// masks stay as they were when recurrent dropout is turned on).
    static func recurrentDropoutMasks(seed: UInt64, index: Int, batch: Int, width: Int, rate: Float) -> [Float] {
        var generator = SeededGenerator(seed: SeededGenerator.passSeed(seed ^ 0x5245_4355_5252_454E, pass: index))
        let keep = 1 / (1 - rate)
        return (0 ..< 4 * batch * width).map { _ in generator.nextUnitFloat() < rate ? 0 : keep }
    }
}

/// Calls `body` with a pointer to `tensor`'s elements, or `nil`.
func withOptionalPointer<R>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
    guard let tensor else { return try body(nil) }
    return try tensor.withUnsafeBufferPointer { try body($0.baseAddress!) }
}

/// Calls `body` with a pointer to `values`' elements, or `nil`.
func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
    guard let values else { return try body(nil) }
    return try values.withUnsafeBufferPointer { try body($0.baseAddress!) }
}

/// Calls `body` with a writable pointer to `tensor`'s elements, or `nil`.
func withOptionalMutablePointer<R>(_ tensor: inout Tensor?, _ body: (UnsafeMutablePointer<Float>?) throws -> R) rethrows -> R {
    guard tensor != nil else { return try body(nil) }
    return try tensor!.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
}

import FrameSequencing

// The ConvLSTM2D's backward time loop on parameters, caches and gradients the
// layer has validated: the one place their pointers are taken.

extension ConvLSTM2D {
    /// Backpropagation through time into validated `gradients`: dL/dinput and
    /// dL/d(h0, c0).
    func backwardKernel(
        outputGradient: Tensor, finalStateGradient: ConvLSTMState?, cache: Cache, into gradients: inout Gradients
    ) throws -> ConvLSTMInputGradients {
        let g = cache.geometry
        let stateShape = Shape([g.batch, g.state.height, g.state.width, filters], names: ["batch", "height", "width", "filters"])
        var finalHiddenGradient = [Float](repeating: 0, count: g.batch * g.stateLength)
        var finalCellGradient = finalHiddenGradient
        if let finalStateGradient {
            try RecurrentError.requireShape(finalStateGradient.hidden, stateShape.dimensions, "ConvLSTM2D final hidden state gradient")
            try RecurrentError.requireShape(finalStateGradient.cell, stateShape.dimensions, "ConvLSTM2D final cell state gradient")
            finalHiddenGradient = finalStateGradient.hidden.scalars
            finalCellGradient = finalStateGradient.cell.scalars
        }
        if !cache.returnSequences {
            // The last-step output is h_n: its gradient joins h_n's.
            let dy = outputGradient.scalars
            for i in finalHiddenGradient.indices { finalHiddenGradient[i] += dy[i] }
        }

        // dz [B*T*P, G], or one segment's [B*K*P, G] when the record is recomputed (with its record, [B*K*P, 6F]).
        let segments = cache.checkpoints?.segments
        var gateGradient = buffers.take(
            segments.map { g.batch * $0.longest * g.pixels * g.gateWidth } ?? g.rowCount * g.gateWidth)
        var window = segments.map { buffers.take(convLSTMSegmentRecordCount(g, $0)) } ?? []
        var matrixGradient = [Float](repeating: 0, count: g.depth * g.gateWidth)
        var peepholeGradient: [Float]? = peepholes == nil ? nil : [Float](repeating: 0, count: 3 * g.stateLength)
        var initialHiddenGradient = [Float](repeating: 0, count: g.batch * g.stateLength)
        var initialCellGradient = initialHiddenGradient
        let inputGradient = try uninitializedTensor(cache.input.shape) { dx in
            gateGradient.withUnsafeMutableBufferPointer { dz in
                window.withUnsafeMutableBufferPointer { window in
                    withOperands(g, input: cache.input, state: cache.initialState, lengths: cache.lengths) { x in
                        outputGradient.withUnsafeBufferPointer { dy in
                            finalHiddenGradient.withUnsafeBufferPointer { dhn in
                                finalCellGradient.withUnsafeBufferPointer { dcn in
                                    matrixGradient.withUnsafeMutableBufferPointer { dm in
                                        initialHiddenGradient.withUnsafeMutableBufferPointer { dh0 in
                                            initialCellGradient.withUnsafeMutableBufferPointer { dc0 in
                                                withOptionalMutableFloats(&peepholeGradient) { dw in
                                                    let dy = cache.returnSequences ? dy.baseAddress! : nil
                                                    if let checkpoints = cache.checkpoints {
                                                        checkpoints.withPointer { states in
                                                            convLSTMRecomputedBackward(
                                                                g, x, segments: checkpoints.segments, checkpoints: states,
                                                                window: window.baseAddress!, gateGradient: dz.baseAddress!,
                                                                outputGradient: dy, finalHiddenGradient: dhn.baseAddress!,
                                                                finalCellGradient: dcn.baseAddress!, inputGradient: dx,
                                                                matrixGradient: dm.baseAddress!, peepholeGradient: dw,
                                                                initialHiddenGradient: dh0.baseAddress!,
                                                                initialCellGradient: dc0.baseAddress!)
                                                        }
                                                        return
                                                    }
                                                    cache.record!.withPointers { record in
                                                        convLSTMBackward(
                                                            g, x, record: record, gateGradient: dz.baseAddress!,
                                                            outputGradient: dy, finalHiddenGradient: dhn.baseAddress!,
                                                            finalCellGradient: dcn.baseAddress!, inputGradient: dx,
                                                            matrixGradient: dm.baseAddress!, peepholeGradient: dw,
                                                            initialHiddenGradient: dh0.baseAddress!,
                                                            initialCellGradient: dc0.baseAddress!)
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
        buffers.recycle(consume window)
        buffers.recycle(consume gateGradient)
        gradients.addGateMatrixGradient(matrixGradient, g)
        if let peepholeGradient { gradients.peepholes!.add(peepholeGradient) }
        return (
            input: inputGradient,
            initialState: ConvLSTMState(hidden: try Tensor(shape: stateShape, scalars: initialHiddenGradient),
                                        cell: try Tensor(shape: stateShape, scalars: initialCellGradient)))
    }
}

extension ConvLSTM2D.Gradients {
    /// Adds dM [KT, G] (kernel rows, the bias row, recurrent kernel rows) into
    /// the three weight gradients.
    mutating func addGateMatrixGradient(_ dm: [Float], _ g: ConvLSTMGeometry) {
        let (kx, gw) = (g.inputPatch, g.gateWidth)
        kernel.withUnsafeMutableBufferPointer { k in for i in 0 ..< kx * gw { k[i] += dm[i] } }
        bias.withUnsafeMutableBufferPointer { b in for j in 0 ..< gw { b[j] += dm[kx * gw + j] } }
        recurrentKernel.withUnsafeMutableBufferPointer { r in
            for i in 0 ..< g.recurrentPatch * gw { r[i] += dm[(kx + 1) * gw + i] }
        }
    }
}

extension ConvLSTMPeepholes {
    /// Adds a [3, H' * W' * F] buffer (i, f, o) into the three tensors.
    mutating func add(_ values: [Float]) {
        let count = input.count
        for (index, keyPath) in [\ConvLSTMPeepholes.input, \.forget, \.output].enumerated() {
            self[keyPath: keyPath].withUnsafeMutableBufferPointer { w in
                for i in 0 ..< count { w[i] += values[index * count + i] }
            }
        }
    }
}

/// Calls `body` with a writable pointer to `values`' elements, or `nil`.
func withOptionalMutableFloats<R>(_ values: inout [Float]?, _ body: (UnsafeMutablePointer<Float>?) throws -> R) rethrows -> R {
    guard values != nil else { return try body(nil) }
    return try values!.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
}

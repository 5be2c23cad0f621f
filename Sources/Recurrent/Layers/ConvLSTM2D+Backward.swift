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
                self[keyPath: keyPath].withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
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
    /// - Throws: `shapeMismatch` for gradients of the wrong shape, `cacheMismatch`
    ///   for a cache or gradients made by a layer of another configuration.
    /// - Complexity: about twice the forward pass's flops.
    public func backward(
        outputGradient: Tensor, finalStateGradient: ConvLSTMState?, cache: Cache, into gradients: inout Gradients
    ) throws -> ConvLSTMInputGradients {
        try validateParameters()
        let g = cache.geometry
        guard (try? geometry(cache.input.dimensions)) == g, cache.hasPeepholes == (peepholes != nil) else {
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
        var gateGradient = LargeBufferCache.take(
            segments.map { g.batch * $0.longest * g.pixels * g.gateWidth } ?? g.rowCount * g.gateWidth)
        var window = segments.map { LargeBufferCache.take(convLSTMSegmentRecordCount(g, $0)) } ?? []
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
        LargeBufferCache.recycle(consume window)
        LargeBufferCache.recycle(consume gateGradient)
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

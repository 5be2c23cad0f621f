import FrameSequencing

// The ConvLSTM2D's forward time loop on parameters, inputs and states the layer
// has validated, and the buffers it records into: the one place their pointers
// are taken.

extension ConvLSTM2D {
    /// Calls `body` with the layer's weights and the run's inputs as pointers.
    func withOperands<R>(_ g: ConvLSTMGeometry, input: Tensor, state: ConvLSTMState, lengths: [Int]?,
                         _ body: (ConvLSTMOperands) throws -> R) rethrows -> R {
        var matrix = [Float](repeating: 0, count: g.depth * g.gateWidth)
        kernel.withUnsafeBufferPointer { k in
            bias.withUnsafeBufferPointer { b in
                recurrentKernel.withUnsafeBufferPointer { r in
                    matrix.withUnsafeMutableBufferPointer { m in
                        convLSTMGateMatrix(g, kernel: k.baseAddress!, bias: b.baseAddress!, recurrentKernel: r.baseAddress!,
                                           into: m.baseAddress!)
                    }
                }
            }
        }
        let peepholeValues = peepholes?.packed
        return try input.withUnsafeBufferPointer { x in
            try matrix.withUnsafeBufferPointer { m in
                try state.hidden.withUnsafeBufferPointer { h0 in
                    try state.cell.withUnsafeBufferPointer { c0 in
                        try withOptionalPointer(lengths) { l in
                            try withOptionalFloats(peepholeValues) { w in
                                try body(ConvLSTMOperands(input: x.baseAddress!, matrix: m.baseAddress!, peepholes: w,
                                                          initialHidden: h0.baseAddress!, initialCell: c0.baseAddress!,
                                                          lengths: l))
                            }
                        }
                    }
                }
            }
        }
    }

    /// The time loop over a validated `input` from `state`: the result, and with
    /// `training` what backward needs.
    func forwardKernel(
        _ input: Tensor, geometry g: ConvLSTMGeometry, state: ConvLSTMState, lengths: [Int]?, returnSequences: Bool, training: Bool
    ) throws -> (result: ConvLSTMResult, cache: Cache?) {
        let stateShape = Shape([g.batch, g.state.height, g.state.width, filters],
                               names: ["batch", "height", "width", "filters"])
        let sequenceShape = Shape([g.batch, g.timesteps, g.state.height, g.state.width, filters],
                                  names: ["batch", "timesteps", "height", "width", "filters"])
        var finalHidden = [Float](repeating: 0, count: g.batch * g.stateLength)
        var finalCell = finalHidden
        let segments = training ? try recomputation.segments(timesteps: g.timesteps) : nil
        let keepsRecord = training && segments == nil
        var recordValues = keepsRecord ? ConvLSTMRecordStorage.buffer(g, from: buffers) : []
        var checkpointValues = segments.map { ConvLSTMCheckpoints.buffer($0, stateCount: g.batch * g.stateLength) } ?? []
        // Training, forward order and every step: the record's h_t is the output
        // (zero on padded steps), so it is not written twice.
        let outputIsRecord = keepsRecord && returnSequences && !g.reversed
        // Every element is written by the forward pass (h_t, or zero on padded steps): no zero fill.
        let sequenceCount = returnSequences && !outputIsRecord ? g.rowCount * filters : 0
        var sequence = uninitializedFloats(sequenceCount)
        withOperands(g, input: input, state: state, lengths: lengths) { x in
            finalHidden.withUnsafeMutableBufferPointer { hn in
                finalCell.withUnsafeMutableBufferPointer { cn in
                    sequence.withUnsafeMutableBufferPointer { y in
                        let output = y.isEmpty ? nil : y.baseAddress!
                        if let segments {
                            checkpointedForward(g, x, segments: segments, output: output, finalHidden: hn.baseAddress!,
                                                finalCell: cn.baseAddress!, checkpoints: &checkpointValues)
                            return
                        }
                        recordValues.withUnsafeMutableBufferPointer { r in
                            let record = keepsRecord ? ConvLSTMRecordStorage.pointers(r.baseAddress!, g) : nil
                            convLSTMForward(g, x, output: output, finalHidden: hn.baseAddress!,
                                            finalCell: cn.baseAddress!, record: record)
                        }
                    }
                }
            }
        }
        let record = keepsRecord ? ConvLSTMRecordStorage(g, values: consume recordValues, pool: buffers) : nil
        let checkpoints = segments.map { ConvLSTMCheckpoints($0, stateCount: g.batch * g.stateLength, values: checkpointValues) }
        let finalState = ConvLSTMState(hidden: try Tensor(shape: stateShape, scalars: finalHidden),
                                       cell: try Tensor(shape: stateShape, scalars: finalCell))
        let output: Tensor
        if outputIsRecord {
            output = try Tensor(shape: sequenceShape, scalars: record!.hiddenSequence())
        } else if returnSequences {
            output = try Tensor(shape: sequenceShape, scalars: sequence)
        } else {
            output = finalState.hidden
        }
        let result = ConvLSTMResult(output: output, finalState: finalState)
        guard training else { return (result, nil) }
        return (result, Cache(geometry: g, input: input, initialState: state, lengths: lengths,
                              returnSequences: returnSequences, outputShape: output.dimensions,
                              hasPeepholes: peepholes != nil, record: record, checkpoints: checkpoints))
    }
}

/// The forward pass's record (see `ConvLSTMRecord`): one buffer holding the
/// gates [B*T*P, G], then c_t and h_t [B*T*P, F] each, filled by the forward
/// pass before this is made and immutable after (checked `Sendable`: a `let`
/// array), so any number of backward passes may read it at once.
final class ConvLSTMRecordStorage: Sendable {
    /// At least `rows * 6 * filters` values (a recycled buffer may be longer).
    private let values: [Float]
    let rows: Int, filters: Int, timesteps: Int

    /// A buffer for the record of `g`, from the layer's `pool`; its contents are unspecified.
    static func buffer(_ g: ConvLSTMGeometry, from pool: BufferPool) -> [Float] {
        pool.take(g.rowCount * 6 * g.filters)
    }

    /// The record of `g` that the forward pass wrote into `values` (from ``buffer(_:)``).
    init(_ g: ConvLSTMGeometry, values: [Float], pool: BufferPool) {
        precondition(values.count >= g.rowCount * 6 * g.filters, "record buffer too small")
        self.values = values
        self.pool = pool
        rows = g.rowCount
        filters = g.filters
        timesteps = g.timesteps
    }

    /// The layer's pool, which takes the buffer back when the record is released.
    private let pool: BufferPool

    deinit { pool.recycle(values) }

    /// Pointers into `values` laid out as the record of all T steps of `g`, for the forward pass that fills it.
    static func pointers(_ base: UnsafeMutablePointer<Float>, _ g: ConvLSTMGeometry) -> ConvLSTMRecord {
        let (rows, filters) = (g.rowCount, g.filters)
        return ConvLSTMRecord(gates: base, cells: base + rows * 4 * filters, hidden: base + rows * 5 * filters,
                              timesteps: 0 ..< g.timesteps)
    }

    /// Calls `body` with the record's pointers, for reading only.
    func withPointers<R>(_ body: (ConvLSTMRecord) throws -> R) rethrows -> R {
        try values.withUnsafeBufferPointer { buffer in
            let base = UnsafeMutablePointer(mutating: buffer.baseAddress!)
            return try body(ConvLSTMRecord(gates: base, cells: base + rows * 4 * filters, hidden: base + rows * 5 * filters,
                                           timesteps: 0 ..< timesteps))
        }
    }

    /// Bytes of the record (a recycled buffer may hold more).
    var byteCount: Int { rows * 6 * filters * MemoryLayout<Float>.stride }

    /// A copy of h_t of every row, [B, T, P, F].
    func hiddenSequence() -> [Float] {
        Array(values[rows * 5 * filters ..< rows * 6 * filters])
    }
}

/// Calls `body` with a pointer to `values`' elements, or `nil`.
func withOptionalFloats<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
    guard let values else { return try body(nil) }
    return try values.withUnsafeBufferPointer { try body($0.baseAddress!) }
}

import FrameSequencing

/// The result of running a ``ConvLSTM2D`` over a batch.
public struct ConvLSTMResult: Sendable {
    /// (B, T, H', W', F) with every timestep, in processing order (reversed for a
    /// reversed layer, as Keras returns it); or (B, H', W', F), each sequence's
    /// final hidden state, when only the last step is asked for. Outputs of
    /// padded timesteps are zero.
    public var output: Tensor
    /// The final (h, c), each (B, H', W', F), at each sequence's last valid step
    /// (the initial state for a sequence of length 0).
    public var finalState: ConvLSTMState
}

extension ConvLSTM2D {
    /// What ``backward(outputGradient:finalStateGradient:cache:into:)`` needs from
    /// a ``trainingForward(_:initialState:lengths:returnSequences:)`` call: the
    /// input, the initial state, and per row (b, t, pixel) the activated gates,
    /// c_t and h_t (saved for backward); or, with ``recomputation``, the state
    /// every k steps, from which backward recomputes the rest.
    public struct Cache: Sendable {
        let geometry: ConvLSTMGeometry
        let input: Tensor
        let initialState: ConvLSTMState
        let lengths: [Int]?
        let returnSequences: Bool
        let outputShape: [Int]
        let hasPeepholes: Bool
        /// Every step's record, or nil when the states were kept instead.
        let record: ConvLSTMRecordStorage?
        /// The state every k steps, with ``Recomputation/keepStatesEvery(_:)``.
        let checkpoints: ConvLSTMCheckpoints?
    }

    /// Runs the layer for inference; keeps nothing for backward.
    ///
    /// - Parameters:
    ///   - input: (B, T, H, W, C).
    ///   - initialState: (B, H', W', F) each; zeros when `nil`.
    ///   - lengths: valid timesteps per sequence (each in `0...T`), the valid ones
    ///     first (post-padding): a padded step leaves the state unchanged and
    ///     outputs zero, and the final state is the one after the last valid
    ///     step. A reversed layer starts each sequence at its last valid step and
    ///     writes its output in processing order, so output positions
    ///     `0 ..< T - length` are the zero outputs of the padding (Keras's
    ///     `go_backwards` with a mask). Masks convert with ``LSTM/lengths(fromMask:)``.
    ///   - returnSequences: every timestep, or only the final hidden state.
    /// - Throws: `shapeMismatch` for an input, state or peephole shape that does
    ///   not fit; `invalidArgument` for bad lengths or a frame the kernel does not fit.
    /// - Complexity: `2 * B * T * H' * W' * (KH * KW * (C + F) + 1) * 4F` flops.
    public func forward(
        _ input: Tensor, initialState: ConvLSTMState? = nil, lengths: [Int]? = nil, returnSequences: Bool = true
    ) throws -> ConvLSTMResult {
        try run(input, initialState: initialState, lengths: lengths, returnSequences: returnSequences,
                training: false).result
    }

    /// ``forward(_:initialState:lengths:returnSequences:)`` keeping what backward
    /// needs: every step's record, or the states that ``recomputation`` asks for.
    ///
    /// - Throws: as ``forward(_:initialState:lengths:returnSequences:)``, and
    ///   `invalidArgument` for a ``Recomputation/keepStatesEvery(_:)`` below 1.
    public func trainingForward(
        _ input: Tensor, initialState: ConvLSTMState? = nil, lengths: [Int]? = nil, returnSequences: Bool = true
    ) throws -> (result: ConvLSTMResult, cache: Cache) {
        let (result, cache) = try run(input, initialState: initialState, lengths: lengths,
                                      returnSequences: returnSequences, training: true)
        return (result, cache!)
    }

    /// Validates the lengths and the initial state against the geometry.
    func validate(_ g: ConvLSTMGeometry, initialState: ConvLSTMState?, lengths: [Int]?) throws -> ConvLSTMState {
        if let lengths {
            guard lengths.count == g.batch, lengths.allSatisfy({ $0 >= 0 && $0 <= g.timesteps }) else {
                throw RecurrentError.invalidArgument(
                    name: "ConvLSTM2D lengths", expected: "\(g.batch) values in 0...\(g.timesteps)", actual: "\(lengths)")
            }
        }
        let (oh, ow) = (g.state.height, g.state.width)
        let state = try initialState ?? ConvLSTMState.zeros(batch: g.batch, height: oh, width: ow, filters: filters)
        try RecurrentError.requireShape(state.hidden, [g.batch, oh, ow, filters], "ConvLSTM2D initial hidden state")
        try RecurrentError.requireShape(state.cell, [g.batch, oh, ow, filters], "ConvLSTM2D initial cell state")
        return state
    }

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

    private func run(
        _ input: Tensor, initialState: ConvLSTMState?, lengths: [Int]?, returnSequences: Bool, training: Bool
    ) throws -> (result: ConvLSTMResult, cache: Cache?) {
        try validateParameters()
        let g = try geometry(input.dimensions)
        let state = try validate(g, initialState: initialState, lengths: lengths)
        let stateShape = Shape([g.batch, g.state.height, g.state.width, filters],
                               names: ["batch", "height", "width", "filters"])
        let sequenceShape = Shape([g.batch, g.timesteps, g.state.height, g.state.width, filters],
                                  names: ["batch", "timesteps", "height", "width", "filters"])
        var finalHidden = [Float](repeating: 0, count: g.batch * g.stateLength)
        var finalCell = finalHidden
        let segments = training ? try recomputation.segments(timesteps: g.timesteps) : nil
        let keepsRecord = training && segments == nil
        var recordValues = keepsRecord ? ConvLSTMRecordStorage.buffer(g) : []
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
        let record = keepsRecord ? ConvLSTMRecordStorage(g, values: consume recordValues) : nil
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

    /// A buffer for the record of `g`, from the large-buffer cache; its contents are unspecified.
    static func buffer(_ g: ConvLSTMGeometry) -> [Float] {
        LargeBufferCache.take(g.rowCount * 6 * g.filters)
    }

    /// The record of `g` that the forward pass wrote into `values` (from ``buffer(_:)``).
    init(_ g: ConvLSTMGeometry, values: [Float]) {
        precondition(values.count >= g.rowCount * 6 * g.filters, "record buffer too small")
        self.values = values
        rows = g.rowCount
        filters = g.filters
        timesteps = g.timesteps
    }

    deinit { LargeBufferCache.recycle(values) }

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

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
        /// How the input was moved for the time loop and its output for the
        /// caller (masks with padding before the data, ``maskedOutput``).
        var plan: MaskedSequencePlan? = nil
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
    ///     `go_backwards` with a mask). Padded outputs follow ``maskedOutput``.
    ///     Padding before the data: ``forward(_:initialState:mask:returnSequences:)``.
    ///   - returnSequences: every timestep, or only the final hidden state.
    /// - Returns: for a batch of 0 sequences, as PyTorch's recurrent layers, an
    ///   empty output ((0, T, H', W', F) or (0, H', W', F)) and an empty final
    ///   state (0, H', W', F), without running a kernel.
    /// - Throws: `shapeMismatch` for an input, state or peephole shape that does
    ///   not fit; `invalidArgument` for bad lengths, 0 timesteps or a frame the
    ///   kernel does not fit.
    /// - Complexity: `2 * B * T * H' * W' * (KH * KW * (C + F) + 1) * 4F` flops.
    public func forward(
        _ input: Tensor, initialState: ConvLSTMState? = nil, lengths: [Int]? = nil, returnSequences: Bool = true
    ) throws -> ConvLSTMResult {
        try run(input, initialState: initialState, lengths: lengths, mask: nil, returnSequences: returnSequences,
                training: false).result
    }

    /// Runs the layer for inference over a batch padded as a (B, T) `mask`
    /// says, Keras's `mask` argument: 0 marks padding, anything else data. Each
    /// row's valid steps must be one run, with padding before it (Keras's
    /// `pad_sequences(padding="pre")`), after it, or both. A padded step leaves
    /// the state unchanged; its output follows ``maskedOutput``; a reversed
    /// layer meets the steps after the run first, as Keras's `go_backwards`.
    ///
    /// - Parameters:
    ///   - input: (B, T, H, W, C).
    ///   - initialState: (B, H', W', F) each; zeros when `nil`.
    ///   - mask: (B, T).
    ///   - returnSequences: every timestep's hidden state, or only the last.
    /// - Throws: what ``forward(_:initialState:lengths:returnSequences:)`` throws;
    ///   `shapeMismatch` for a mask that is not (B, T), `invalidArgument` for a
    ///   row with a gap inside its valid steps.
    public func forward(
        _ input: Tensor, initialState: ConvLSTMState? = nil, mask: Tensor, returnSequences: Bool = true
    ) throws -> ConvLSTMResult {
        try run(input, initialState: initialState, lengths: nil, mask: mask, returnSequences: returnSequences,
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
        let (result, cache) = try run(input, initialState: initialState, lengths: lengths, mask: nil,
                                      returnSequences: returnSequences, training: true)
        return (result, cache!)
    }

    /// ``trainingForward(_:initialState:lengths:returnSequences:)`` over a batch
    /// padded as a (B, T) `mask` says, as ``forward(_:initialState:mask:returnSequences:)`` reads it.
    ///
    /// - Throws: as ``forward(_:initialState:mask:returnSequences:)``, and
    ///   `invalidArgument` for a ``Recomputation/keepStatesEvery(_:)`` below 1.
    public func trainingForward(
        _ input: Tensor, initialState: ConvLSTMState? = nil, mask: Tensor, returnSequences: Bool = true
    ) throws -> (result: ConvLSTMResult, cache: Cache) {
        let (result, cache) = try run(input, initialState: initialState, lengths: nil, mask: mask,
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

    func run(
        _ input: Tensor, initialState: ConvLSTMState?, lengths: [Int]?, mask: Tensor?, returnSequences: Bool,
        training: Bool
    ) throws -> (result: ConvLSTMResult, cache: Cache?) {
        try validateParameters()
        let g = try geometryAllowingEmptyBatch(input.dimensions)
        let state = try validate(g, initialState: initialState, lengths: lengths)
        if g.batch == 0 {
            // No sequence: empty outputs of the right shapes, and no kernel call (the
            // kernels assume at least one sequence).
            if training { try recomputation.validate() }
            let grid = [g.state.height, g.state.width, filters]
            let output = try Tensor(shape: Shape(returnSequences ? [0, g.timesteps] + grid : [0] + grid))
            let result = ConvLSTMResult(output: output, finalState: state)
            guard training else { return (result, nil) }
            return (result, Cache(geometry: g, input: input, initialState: state, lengths: lengths,
                                  returnSequences: returnSequences, outputShape: output.dimensions,
                                  hasPeepholes: peepholes != nil, record: nil, checkpoints: nil))
        }
        let spans = try SequenceSpans(lengths: lengths, mask: mask, batch: g.batch, timesteps: g.timesteps, layer: "ConvLSTM2D")
        let plan = MaskedSequencePlan.convLSTM(spans: spans, batch: g.batch, timesteps: g.timesteps, reversed: isReversed,
                                               maskedOutput: maskedOutput, columns: g.stateLength)
        let kernelInput = plan.movesInput
            ? try Tensor(shape: input.shape, scalars: plan.kernelInput(input.scalars, width: input.count / (g.batch * g.timesteps)))
            : input
        var (result, cache) = try forwardKernel(kernelInput, geometry: g, state: state, lengths: plan.kernelLengths,
                                                returnSequences: returnSequences, training: training)
        if returnSequences && plan.movesOutput {
            result.output = try Tensor(shape: result.output.shape, scalars: plan.output(result.output.scalars, width: g.stateLength))
        }
        cache?.plan = plan
        return (result, cache)
    }
}


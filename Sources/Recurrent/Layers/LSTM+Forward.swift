import FrameSequencing

/// The result of running an LSTM over a batch.
public struct LSTMResult: Sendable {
    /// (B, T, D*H) or (T, B, D*H) with every timestep; or (B, D*H), the top layer's
    /// final hidden state of each direction, when only the last step is asked for.
    /// Past a sequence's length, outputs are zero.
    public var output: Tensor
    /// The final (h, c) of every layer and direction, at each sequence's last valid step.
    public var finalState: LSTMState
}

/// What ``LSTM/backward(outputGradient:finalStateGradient:cache:into:)`` needs
/// from a ``LSTM/trainingForward(_:initialState:lengths:layout:returnSequences:dropoutSeed:)``
/// call: each layer's input, dropout masks and per-direction activation
/// records, or with ``LSTM/recomputation`` the states every k steps instead.
public struct LSTMCache: Sendable {
    let batch: Int
    let timesteps: Int
    let timeMajor: Bool
    let returnSequences: Bool
    let lengths: [Int]?
    let layerInputs: [[Float]]      // per layer: [rows, layer input] after dropout
    let dropoutMasks: [[Float]?]    // per layer: [rows, layer input] of 0 or 1/(1-p)
    let records: [[Float]]          // per layer*D + d: LSTMRecordLayout buffers (none when recomputing)
    let segments: TimeSegments?     // when recomputing: the segments of the time loops
    let checkpoints: [[Float]]      // when recomputing, per layer*D + d: [S, 2, B, H] (h, c) at each segment's start
    let outputShape: [Int]
    let inputShape: [Int]
    /// How the input was moved for the time loops and their output for the
    /// caller (masks, pre-padding, ``LSTM/goBackwards``), undone in backward.
    var plan: MaskedSequencePlan? = nil
    /// The time loops that ran, which backward follows.
    var route: LSTMRoute = .fused
    /// Per layer*D + d: M_i, M_f, M_g, M_o [4, B, P] of 0 or 1/(1-rate), the
    /// recurrent dropout masks of the pass; nil without recurrent dropout.
    var recurrentDropoutMasks: [[Float]]? = nil
}

/// Which time loops run an LSTM: the fused kernels (LSTMSequence.swift), or
/// the plain per-step route for projections and recurrent dropout (LSTMPlainSequence.swift).
enum LSTMRoute: Sendable {
    case fused, plain
}

extension LSTM {
    /// Runs the LSTM for inference; keeps nothing for backward.
    ///
    /// - Parameters:
    ///   - input: (B, T, I) for `.batchMajor`, (T, B, I) for `.timeMajor`.
    ///   - initialState: (L*D, B, H) each; zeros when `nil`.
    ///   - lengths: valid timesteps per sequence (each in `0...T`), with PyTorch's
    ///     packed-sequence semantics: a padded step neither reads its input nor
    ///     changes the state, its output is set by ``maskedOutput`` (zero by
    ///     default), and the final state is taken at the last valid step, in both
    ///     directions. Padding before the data: ``forward(_:initialState:mask:layout:returnSequences:)``.
    ///   - layout: `.batchMajor` (PyTorch's `batch_first`) or `.timeMajor`.
    ///   - returnSequences: every timestep, or only the top layer's final hidden state.
    /// - Returns: for a batch of 0 sequences, as PyTorch's `nn.LSTM`, an empty
    ///   output ((0, T, D*H), (T, 0, D*H) or (0, D*H)) and an empty final state
    ///   (L*D, 0, H), without running a kernel.
    /// - Throws: `shapeMismatch` / `invalidArgument` for inputs that do not fit
    ///   (0 timesteps included, as PyTorch refuses them), or for ``layers`` or
    ///   ``dropout`` changed since the LSTM was made (a tensor of another shape,
    ///   another number of entries).
    public func forward(
        _ input: Tensor, initialState: LSTMState? = nil, lengths: [Int]? = nil,
        layout: SequenceLayout = .batchMajor, returnSequences: Bool = true
    ) throws -> LSTMResult {
        try run(input, initialState: initialState, lengths: lengths, mask: nil, layout: layout,
                returnSequences: returnSequences, training: false, dropoutSeed: 0).result
    }

    /// Runs the LSTM for inference over a batch padded as a (B, T) `mask`
    /// says, Keras's `mask` argument: 0 marks padding, anything else data.
    /// Each row's valid steps must be one run, with padding before it
    /// (Keras's `pad_sequences(padding="pre")`), after it, or both. A
    /// padded step neither reads its input nor changes the state; its output
    /// is set by ``maskedOutput``; the final state is the one after the last
    /// valid step processed. A reverse direction starts at the run's last step.
    ///
    /// - Parameters:
    ///   - input: (B, T, I) for `.batchMajor`, (T, B, I) for `.timeMajor`.
    ///   - initialState: (L*D, B, H) each; zeros when `nil`.
    ///   - mask: (B, T) in either layout.
    ///   - layout: `.batchMajor` (PyTorch's `batch_first`) or `.timeMajor`.
    ///   - returnSequences: every timestep, or only the top layer's final hidden state.
    /// - Throws: what ``forward(_:initialState:lengths:layout:returnSequences:)``
    ///   throws; `shapeMismatch` for a mask that is not (B, T) and
    ///   `invalidArgument` for a row with a gap inside its valid steps.
    public func forward(
        _ input: Tensor, initialState: LSTMState? = nil, mask: Tensor, layout: SequenceLayout = .batchMajor,
        returnSequences: Bool = true
    ) throws -> LSTMResult {
        try run(input, initialState: initialState, lengths: nil, mask: mask, layout: layout,
                returnSequences: returnSequences, training: false, dropoutSeed: 0).result
    }

    /// Runs the LSTM keeping what backward needs (every step's record, or the
    /// states that ``recomputation`` asks for); applies dropout between stacked
    /// layers when ``dropout`` is above zero and to the recurrent state when
    /// ``recurrentDropout`` is, both seeded by `dropoutSeed` (the same seed, the
    /// same masks).
    ///
    /// - Throws: as ``forward(_:initialState:lengths:layout:returnSequences:)``,
    ///   and `invalidArgument` for a ``Recomputation/keepStatesEvery(_:)`` below 1.
    public func trainingForward(
        _ input: Tensor, initialState: LSTMState? = nil, lengths: [Int]? = nil,
        layout: SequenceLayout = .batchMajor, returnSequences: Bool = true, dropoutSeed: UInt64 = 0
    ) throws -> (result: LSTMResult, cache: LSTMCache) {
        let (result, cache) = try run(input, initialState: initialState, lengths: lengths, mask: nil, layout: layout,
                                      returnSequences: returnSequences, training: true, dropoutSeed: dropoutSeed)
        return (result, cache!)
    }

    /// ``trainingForward(_:initialState:lengths:layout:returnSequences:dropoutSeed:)``
    /// over a batch padded as a (B, T) `mask` says, as
    /// ``forward(_:initialState:mask:layout:returnSequences:)`` reads it.
    ///
    /// - Throws: as ``forward(_:initialState:mask:layout:returnSequences:)``,
    ///   and `invalidArgument` for a ``Recomputation/keepStatesEvery(_:)`` below 1.
    public func trainingForward(
        _ input: Tensor, initialState: LSTMState? = nil, mask: Tensor, layout: SequenceLayout = .batchMajor,
        returnSequences: Bool = true, dropoutSeed: UInt64 = 0
    ) throws -> (result: LSTMResult, cache: LSTMCache) {
        let (result, cache) = try run(input, initialState: initialState, lengths: nil, mask: mask, layout: layout,
                                      returnSequences: returnSequences, training: true, dropoutSeed: dropoutSeed)
        return (result, cache!)
    }

    /// Lengths from a (B, T) mask of 1 (valid) and 0 (padding), each row a run of
    /// ones followed by zeros. Throws `invalidArgument` for any other mask.
    public static func lengths(fromMask mask: Tensor) throws -> [Int] {
        guard mask.shape.rank == 2 else {
            throw RecurrentError.invalidArgument(name: "mask", expected: "a (batch, timesteps) tensor", actual: "shape \(mask.dimensions)")
        }
        let (batch, steps) = (mask.dimensions[0], mask.dimensions[1])
        let values = mask.scalars
        return try (0 ..< batch).map { b in
            let row = values[b * steps ..< (b + 1) * steps]
            let length = row.prefix { $0 != 0 }.count
            guard row.dropFirst(length).allSatisfy({ $0 == 0 }) else {
                throw RecurrentError.invalidArgument(
                    name: "mask row \(b)", expected: "ones followed by zeros (a valid prefix)", actual: "\(Array(row))")
            }
            return length
        }
    }

    // MARK: The shared forward pass

    /// The forward pass of every public entry. `recurrentMasks` (per
    /// layer-direction, [4, B, P] each, of the kernels' batch) replaces the
    /// recurrent dropout masks that training would draw: the tests' hook.
    func run(
        _ input: Tensor, initialState: LSTMState?, lengths: [Int]?, mask: Tensor?, layout: SequenceLayout,
        returnSequences: Bool, training: Bool, dropoutSeed: UInt64, recurrentMasks: [[Float]]? = nil
    ) throws -> (result: LSTMResult, cache: LSTMCache?) {
        try validateParameters()
        guard layout != .spatial else {
            throw RecurrentError.invalidArgument(name: "layout", expected: ".batchMajor or .timeMajor", actual: ".spatial")
        }
        guard input.shape.rank == 3, input.dimensions[2] == inputSize else {
            throw RecurrentError.shapeMismatch(
                name: "LSTM input", expected: layout == .timeMajor ? [.any("timesteps"), .any("batch"), .size(inputSize)]
                    : [.any("batch"), .any("timesteps"), .size(inputSize)],
                actual: input.dimensions)
        }
        let timeMajor = layout == .timeMajor
        let (batch, steps) = timeMajor ? (input.dimensions[1], input.dimensions[0]) : (input.dimensions[0], input.dimensions[1])
        try RecurrentError.requirePositive(steps, "timesteps")
        let spans = try SequenceSpans(lengths: lengths, mask: mask, batch: batch, timesteps: steps, layer: "LSTM")
        let stateShape = [layerCount * directionCount, batch, hiddenSize]
        let state = try initialState ?? LSTMState.zeros(for: self, batch: batch)
        try RecurrentError.requireShape(state.hidden, [layerCount * directionCount, batch, hiddenStateSize], "Initial hidden state")
        try RecurrentError.requireShape(state.cell, stateShape, "Initial cell state")
        if batch == 0 {
            return try emptyBatch(input, steps: steps, lengths: lengths, timeMajor: timeMajor,
                                  returnSequences: returnSequences, training: training)
        }

        let plan = MaskedSequencePlan.lstm(
            spans: spans, batch: batch, timesteps: steps, timeMajor: timeMajor, reversed: goBackwards,
            maskedOutput: maskedOutput, directions: (0 ..< directionCount).map {
                MaskedSequencePlan.Direction(columns: $0 * hiddenStateSize ..< ($0 + 1) * hiddenStateSize, backward: $0 == 1)
            })
        let kernelInput = plan.movesInput
            ? try Tensor(shape: input.shape, scalars: plan.kernelInput(input.scalars, width: inputSize)) : input
        // Recurrent dropout's per-gate masks, as projections, need the plain route.
        let plainRoute = projectionSize > 0 || recurrentMasks != nil || (training && recurrentDropout > 0)
        if let recurrentMasks, recurrentMasks.count != layerCount * directionCount
            || recurrentMasks.contains(where: { $0.count != 4 * batch * hiddenStateSize }) {
            throw RecurrentError.invalidArgument(name: "recurrent dropout masks",
                                                 expected: "\(layerCount * directionCount) of 4 * \(batch) * \(hiddenStateSize) values",
                                                 actual: "\(recurrentMasks.map(\.count))")
        }
        if training && plainRoute { try recomputation.validate() }
        var (result, cache) = plainRoute
            ? try plainForwardKernel(kernelInput, state: state, batch: batch, steps: steps, lengths: plan.kernelLengths,
                                     timeMajor: timeMajor, returnSequences: returnSequences, training: training,
                                     dropoutSeed: dropoutSeed, recurrentMasks: recurrentMasks)
            : try forwardKernel(kernelInput, state: state, stateShape: stateShape, batch: batch, steps: steps,
                                lengths: plan.kernelLengths, timeMajor: timeMajor, returnSequences: returnSequences,
                                training: training, dropoutSeed: dropoutSeed)
        if returnSequences && plan.movesOutput {
            result.output = try Tensor(shape: result.output.shape, scalars: plan.output(result.output.scalars, width: outputSize))
        }
        cache?.plan = plan
        return (result, cache)
    }
}

extension LSTM {
    /// The result of a batch of 0 sequences, as PyTorch's `nn.LSTM` returns it:
    /// empty outputs and final states of the right shapes. Returns before any
    /// kernel runs, as the kernels assume at least one sequence.
    func emptyBatch(
        _ input: Tensor, steps: Int, lengths: [Int]?, timeMajor: Bool, returnSequences: Bool,
        training: Bool
    ) throws -> (result: LSTMResult, cache: LSTMCache?) {
        if training { try recomputation.validate() }
        let features = directionCount * hiddenSize
        let output: Tensor = returnSequences
            ? try Tensor(shape: timeMajor ? Shape([steps, 0, features], names: ["timesteps", "batch", "features"])
                                          : Shape([0, steps, features], names: ["batch", "timesteps", "features"]))
            : try Tensor(shape: Shape([0, features], names: ["batch", "features"]))
        let finalState = try LSTMState.zeros(for: self, batch: 0)
        let result = LSTMResult(output: output, finalState: finalState)
        guard training else { return (result, nil) }
        // Empty records of the right count, so backward's checks of the cache hold.
        return (result, LSTMCache(batch: 0, timesteps: steps, timeMajor: timeMajor, returnSequences: returnSequences,
                                  lengths: lengths, layerInputs: Array(repeating: [], count: layerCount),
                                  dropoutMasks: Array(repeating: nil, count: layerCount),
                                  records: Array(repeating: [], count: layerCount * directionCount),
                                  segments: nil, checkpoints: [], outputShape: output.dimensions,
                                  inputShape: input.dimensions))
    }
}

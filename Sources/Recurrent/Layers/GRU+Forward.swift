import FrameSequencing

/// The result of running a GRU over a batch.
public struct GRUResult: Sendable {
    /// (B, T, D*H) or (T, B, D*H) with every timestep; or (B, D*H), the top layer's
    /// final hidden state of each direction, when only the last step is asked for.
    /// At padded steps, what ``GRU/maskedOutput`` says (zero by default).
    public var output: Tensor
    /// h_n: the final hidden state of every layer and direction, (L*D, B, H)
    /// (PyTorch's layout), at each sequence's last valid step.
    public var finalHidden: Tensor
}

/// What ``GRU/backward(outputGradient:finalHiddenGradient:cache:into:)`` needs
/// from a ``GRU/trainingForward(_:initialHidden:lengths:layout:returnSequences:dropoutSeed:)``
/// call: each layer's input, dropout masks and per-direction activation records.
public struct GRUCache: Sendable {
    let batch: Int
    let timesteps: Int
    let timeMajor: Bool
    let returnSequences: Bool
    let lengths: [Int]?
    let layerInputs: [[Float]]      // per layer: [rows, layer input] after dropout
    let dropoutMasks: [[Float]?]    // per layer: [rows, layer input] of 0 or 1/(1-p)
    let records: [[Float]]          // per layer*D + d: GRURecordLayout buffers
    let outputShape: [Int]
    let inputShape: [Int]
    /// How the input was moved for the time loops and their output for the
    /// caller (masks, pre-padding, ``GRU/goBackwards``), undone in backward.
    var plan: MaskedSequencePlan? = nil
}

extension GRU {
    /// Runs the GRU for inference; keeps nothing for backward.
    ///
    /// - Parameters:
    ///   - input: (B, T, I) for `.batchMajor`, (T, B, I) for `.timeMajor`.
    ///   - initialHidden: h0, (L*D, B, H); zeros when `nil`.
    ///   - lengths: valid timesteps per sequence (each in `0...T`), with PyTorch's
    ///     packed-sequence semantics: a padded step neither reads its input nor
    ///     changes the state, its output is set by ``maskedOutput`` (zero by
    ///     default), and the final state is taken at the last valid step, in both
    ///     directions. Padding before the data: ``forward(_:initialHidden:mask:layout:returnSequences:)``.
    ///   - layout: `.batchMajor` (PyTorch's `batch_first`) or `.timeMajor`.
    ///   - returnSequences: every timestep, or only the top layer's final hidden state.
    /// - Returns: for a batch of 0 sequences, as PyTorch's `nn.GRU`, an empty
    ///   output ((0, T, D*H), (T, 0, D*H) or (0, D*H)) and an empty h_n
    ///   (L*D, 0, H), without running a kernel.
    /// - Throws: `shapeMismatch` / `invalidArgument` for inputs that do not fit
    ///   (0 timesteps included, as PyTorch refuses them), or for ``layers`` or
    ///   ``dropout`` changed since the GRU was made.
    public func forward(
        _ input: Tensor, initialHidden: Tensor? = nil, lengths: [Int]? = nil,
        layout: SequenceLayout = .batchMajor, returnSequences: Bool = true
    ) throws -> GRUResult {
        try run(input, initialHidden: initialHidden, lengths: lengths, mask: nil, layout: layout,
                returnSequences: returnSequences, training: false, dropoutSeed: 0).result
    }

    /// Runs the GRU for inference over a batch padded as a (B, T) `mask`
    /// says, Keras's `mask` argument: 0 marks padding, anything else data.
    /// Each row's valid steps must be one run, with padding before it
    /// (Keras's `pad_sequences(padding="pre")`), after it, or both. A
    /// padded step neither reads its input nor changes the state; its output
    /// is set by ``maskedOutput``; the final state is the one after the last
    /// valid step processed. A reverse direction starts at the run's last step.
    ///
    /// - Parameters:
    ///   - input: (B, T, I) for `.batchMajor`, (T, B, I) for `.timeMajor`.
    ///   - initialHidden: (L*D, B, H); zeros when `nil`.
    ///   - mask: (B, T) in either layout.
    ///   - layout: `.batchMajor` (PyTorch's `batch_first`) or `.timeMajor`.
    ///   - returnSequences: every timestep, or only the top layer's final hidden state.
    /// - Throws: what ``forward(_:initialHidden:lengths:layout:returnSequences:)``
    ///   throws; `shapeMismatch` for a mask that is not (B, T) and
    ///   `invalidArgument` for a row with a gap inside its valid steps.
    public func forward(
        _ input: Tensor, initialHidden: Tensor? = nil, mask: Tensor, layout: SequenceLayout = .batchMajor,
        returnSequences: Bool = true
    ) throws -> GRUResult {
        try run(input, initialHidden: initialHidden, lengths: nil, mask: mask, layout: layout,
                returnSequences: returnSequences, training: false, dropoutSeed: 0).result
    }

    /// Runs the GRU keeping what backward needs (every step's gates, the new
    /// gate's reset operand and h_{t-1}: 5H floats per row and direction);
    /// applies dropout between stacked layers (seeded by `dropoutSeed`, as the
    /// LSTM draws it) when ``dropout`` is above zero.
    ///
    /// - Throws: as ``forward(_:initialHidden:lengths:layout:returnSequences:)``.
    public func trainingForward(
        _ input: Tensor, initialHidden: Tensor? = nil, lengths: [Int]? = nil,
        layout: SequenceLayout = .batchMajor, returnSequences: Bool = true, dropoutSeed: UInt64 = 0
    ) throws -> (result: GRUResult, cache: GRUCache) {
        let (result, cache) = try run(input, initialHidden: initialHidden, lengths: lengths, mask: nil, layout: layout,
                                      returnSequences: returnSequences, training: true, dropoutSeed: dropoutSeed)
        return (result, cache!)
    }

    /// ``trainingForward(_:initialHidden:lengths:layout:returnSequences:dropoutSeed:)``
    /// over a batch padded as a (B, T) `mask` says, as
    /// ``forward(_:initialHidden:mask:layout:returnSequences:)`` reads it.
    ///
    /// - Throws: as ``forward(_:initialHidden:mask:layout:returnSequences:)``.
    public func trainingForward(
        _ input: Tensor, initialHidden: Tensor? = nil, mask: Tensor, layout: SequenceLayout = .batchMajor,
        returnSequences: Bool = true, dropoutSeed: UInt64 = 0
    ) throws -> (result: GRUResult, cache: GRUCache) {
        let (result, cache) = try run(input, initialHidden: initialHidden, lengths: nil, mask: mask, layout: layout,
                                      returnSequences: returnSequences, training: true, dropoutSeed: dropoutSeed)
        return (result, cache!)
    }

    /// The zero initial state of `batch` sequences: (L*D, B, H).
    public func zeroState(batch: Int) throws -> Tensor {
        try Tensor(shape: Shape([layerCount * directionCount, batch, hiddenSize], names: ["layers*directions", "batch", "hidden"]))
    }

    func run(
        _ input: Tensor, initialHidden: Tensor?, lengths: [Int]?, mask: Tensor?, layout: SequenceLayout,
        returnSequences: Bool, training: Bool, dropoutSeed: UInt64
    ) throws -> (result: GRUResult, cache: GRUCache?) {
        try validateParameters()
        guard layout != .spatial else {
            throw RecurrentError.invalidArgument(name: "layout", expected: ".batchMajor or .timeMajor", actual: ".spatial")
        }
        guard input.shape.rank == 3, input.dimensions[2] == inputSize else {
            throw RecurrentError.shapeMismatch(
                name: "GRU input", expected: layout == .timeMajor ? [.any("timesteps"), .any("batch"), .size(inputSize)]
                    : [.any("batch"), .any("timesteps"), .size(inputSize)],
                actual: input.dimensions)
        }
        let timeMajor = layout == .timeMajor
        let (batch, steps) = timeMajor ? (input.dimensions[1], input.dimensions[0]) : (input.dimensions[0], input.dimensions[1])
        try RecurrentError.requirePositive(steps, "timesteps")
        let spans = try SequenceSpans(lengths: lengths, mask: mask, batch: batch, timesteps: steps, layer: "GRU")
        let stateShape = [layerCount * directionCount, batch, hiddenSize]
        let state = try initialHidden ?? zeroState(batch: batch)
        try RecurrentError.requireShape(state, stateShape, "Initial hidden state")
        if batch == 0 {
            return try emptyBatch(input, steps: steps, lengths: spans?.lengths, timeMajor: timeMajor,
                                  returnSequences: returnSequences, training: training)
        }

        // Masks, pre-padding and goBackwards move whole steps around the time
        // loops, which know lengths alone (MaskedSequencePlan.swift), as the LSTM's do.
        let plan = MaskedSequencePlan.lstm(
            spans: spans, batch: batch, timesteps: steps, timeMajor: timeMajor, reversed: goBackwards,
            maskedOutput: maskedOutput, directions: (0 ..< directionCount).map {
                MaskedSequencePlan.Direction(columns: $0 * hiddenSize ..< ($0 + 1) * hiddenSize, backward: $0 == 1)
            })
        let kernelInput = plan.movesInput
            ? try Tensor(shape: input.shape, scalars: plan.kernelInput(input.scalars, width: inputSize)) : input
        var (result, cache) = try forwardKernel(kernelInput, initialHidden: state, stateShape: stateShape, batch: batch,
                                                steps: steps, lengths: plan.kernelLengths, timeMajor: timeMajor,
                                                returnSequences: returnSequences, training: training,
                                                dropoutSeed: dropoutSeed)
        if returnSequences && plan.movesOutput {
            result.output = try Tensor(shape: result.output.shape, scalars: plan.output(result.output.scalars, width: outputSize))
        }
        cache?.plan = plan
        return (result, cache)
    }
}

extension GRU {
    /// The result of a batch of 0 sequences, as PyTorch's `nn.GRU` returns it:
    /// empty outputs and h_n of the right shapes. Returns before any kernel
    /// runs, as the kernels (and the masked-sequence plan) assume at least one sequence.
    func emptyBatch(
        _ input: Tensor, steps: Int, lengths: [Int]?, timeMajor: Bool, returnSequences: Bool, training: Bool
    ) throws -> (result: GRUResult, cache: GRUCache?) {
        let output: Tensor = returnSequences
            ? try Tensor(shape: timeMajor ? Shape([steps, 0, outputSize], names: ["timesteps", "batch", "features"])
                                          : Shape([0, steps, outputSize], names: ["batch", "timesteps", "features"]))
            : try Tensor(shape: Shape([0, outputSize], names: ["batch", "features"]))
        let result = GRUResult(output: output, finalHidden: try zeroState(batch: 0))
        guard training else { return (result, nil) }
        // Empty records of the right count, so backward's checks of the cache hold.
        return (result, GRUCache(batch: 0, timesteps: steps, timeMajor: timeMajor, returnSequences: returnSequences,
                                 lengths: lengths, layerInputs: Array(repeating: [], count: layerCount),
                                 dropoutMasks: Array(repeating: nil, count: layerCount),
                                 records: Array(repeating: [], count: layerCount * directionCount),
                                 outputShape: output.dimensions, inputShape: input.dimensions))
    }
}

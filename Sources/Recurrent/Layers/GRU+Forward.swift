import FrameSequencing

/// The result of running a GRU over a batch.
public struct GRUResult: Sendable {
    /// (B, T, D*H) or (T, B, D*H) with every timestep; or (B, D*H), the top layer's
    /// final hidden state of each direction, when only the last step is asked for.
    /// Past a sequence's length, outputs are zero.
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
}

extension GRU {
    /// Runs the GRU for inference; keeps nothing for backward.
    ///
    /// - Parameters:
    ///   - input: (B, T, I) for `.batchMajor`, (T, B, I) for `.timeMajor`.
    ///   - initialHidden: h0, (L*D, B, H); zeros when `nil`.
    ///   - lengths: valid timesteps per sequence (each in `0...T`), with PyTorch's
    ///     packed-sequence semantics: outputs past a length are zero and the final
    ///     state is taken at the last valid step, in both directions.
    ///   - layout: `.batchMajor` (PyTorch's `batch_first`) or `.timeMajor`.
    ///   - returnSequences: every timestep, or only the top layer's final hidden state.
    /// - Throws: `shapeMismatch` / `invalidArgument` for inputs that do not fit,
    ///   or for ``layers`` or ``dropout`` changed since the GRU was made.
    public func forward(
        _ input: Tensor, initialHidden: Tensor? = nil, lengths: [Int]? = nil,
        layout: SequenceLayout = .batchMajor, returnSequences: Bool = true
    ) throws -> GRUResult {
        try run(input, initialHidden: initialHidden, lengths: lengths, layout: layout,
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
        let (result, cache) = try run(input, initialHidden: initialHidden, lengths: lengths, layout: layout,
                                      returnSequences: returnSequences, training: true, dropoutSeed: dropoutSeed)
        return (result, cache!)
    }

    /// The zero initial state of `batch` sequences: (L*D, B, H).
    public func zeroState(batch: Int) throws -> Tensor {
        try Tensor(shape: Shape([layerCount * directionCount, batch, hiddenSize], names: ["layers*directions", "batch", "hidden"]))
    }

    func run(
        _ input: Tensor, initialHidden: Tensor?, lengths: [Int]?, layout: SequenceLayout,
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
        try RecurrentError.requirePositive(batch, "batch size")
        try RecurrentError.requirePositive(steps, "timesteps")
        if let lengths {
            guard lengths.count == batch, lengths.allSatisfy({ $0 >= 0 && $0 <= steps }) else {
                throw RecurrentError.invalidArgument(
                    name: "lengths", expected: "\(batch) values in 0...\(steps)", actual: "\(lengths)")
            }
        }
        let stateShape = [layerCount * directionCount, batch, hiddenSize]
        let state = try initialHidden ?? zeroState(batch: batch)
        try RecurrentError.requireShape(state, stateShape, "Initial hidden state")
        return try forwardKernel(input, initialHidden: state, stateShape: stateShape, batch: batch, steps: steps,
                                 lengths: lengths, timeMajor: timeMajor, returnSequences: returnSequences,
                                 training: training, dropoutSeed: dropoutSeed)
    }
}

import Foundation
import FrameSequencing

/// How an LSTM's weights are first set. Every choice is seeded.
public enum LSTMInitialization: Sendable, Hashable {
    /// PyTorch's `nn.LSTM`: every weight and bias uniform in ±1/sqrt(hidden).
    case pytorch
    /// Keras's `LSTM`: Glorot-uniform input kernel, orthogonal recurrent kernel,
    /// zero bias with the forget gate's set to 1 (`unit_forget_bias`).
    case keras
}

/// A multi-layer, optionally bidirectional LSTM over (batch, timesteps,
/// features), matching `torch.nn.LSTM` and `keras.layers.LSTM` number for number.
///
/// ```swift
/// let lstm = try LSTM(inputSize: 4096, hiddenSize: 256, layerCount: 2, seed: 1)
/// let result = try lstm.forward(batch)                 // (B, T, 256) and (h_n, c_n)
/// let (train, cache) = try lstm.trainingForward(batch)
/// var gradients = lstm.zeroGradients()
/// let inputGradients = try lstm.backward(outputGradient: g, cache: cache, into: &gradients)
/// ```
///
/// Gate order is input, forget, cell, output everywhere; weights use PyTorch's
/// layout (see ``LSTMDirectionWeights``).
public struct LSTM: Sendable {
    /// Features per timestep of the input (I).
    public let inputSize: Int
    /// Hidden units per direction (H).
    public let hiddenSize: Int
    /// Stacked layers (L).
    public let layerCount: Int
    /// Whether each layer also runs backwards in time (D = 2).
    public let isBidirectional: Bool
    /// PyTorch's `proj_size`: the units of h (and of the output, per
    /// direction) when above 0, projected from the H cell units by each
    /// direction's ``LSTMDirectionWeights/projectionWeights``; 0 for none. Runs
    /// on a plain route (per-step products) rather than the fused kernels.
    public let projectionSize: Int
    /// Whether the gates have biases (PyTorch's `bias`, Keras's `use_bias`).
    /// Without them ``namedParameters``, the state dict and the Keras weights
    /// hold none, and each direction's bias tensors are empty.
    public let hasBias: Bool
    /// Probability of zeroing an input of layers after the first during training
    /// (PyTorch's `dropout`), in `0 ..< 1`.
    public var dropout: Float
    /// Keras's `recurrent_dropout`: during training, the probability of zeroing
    /// a unit of h_{t-1} where it enters the gates, in `0 ..< 1`; 0 (off) by default.
    ///
    /// As Keras's `LSTMCell` (which switches to `implementation=1` for it),
    /// every training pass draws four masks per layer and direction, one per
    /// gate (i, f, g, o), each (B, P) for P units of h and fixed for all the
    /// pass's timesteps; gate k reads `(h_{t-1} * M_k) W_hh[k]^T`. A kept unit
    /// is scaled by 1 / (1 - rate) (inverted dropout), so inference, which
    /// applies no mask, needs no rescaling. Keras has one direction and one
    /// layer per `LSTM`; here every layer and direction draws its own masks,
    /// as stacked Keras LSTMs and the two copies inside `Bidirectional` do.
    /// The masks follow from the training pass's `dropoutSeed` (the
    /// ``Trainer`` gives every step its own): the same seed, the same masks.
    /// A pass's steps are one call: a chunked sequence or a closed-loop
    /// rollout, one call per chunk or step, draws new masks for each.
    ///
    /// Training with it runs the plain per-step route that projections use
    /// (four products with h per step instead of one, and every step's record
    /// whatever ``recomputation`` asks for); inference and training without it
    /// keep the fused kernels.
    public var recurrentDropout: Float = 0
    /// The weights, index `layer * directionCount + direction` (forward first).
    /// Replace them with values of the same shapes only: every forward and
    /// backward pass checks the count and every tensor's shape first, and
    /// throws naming the first that changed (a Keras-layout (input, 4H) kernel included).
    public var layers: [LSTMDirectionWeights] {
        // Every write (an optimizer step, an import, a replaced tensor) drops
        // what inference packed from the old values; copies that were not
        // written keep sharing theirs.
        didSet { inferencePacking = LSTMInferencePacking() }
    }
    /// The weights as inference packed them, for the calls after it (LSTMPackedWeights.swift).
    var inferencePacking = LSTMInferencePacking()
    /// What ``trainingForward(_:initialState:lengths:layout:returnSequences:dropoutSeed:)``
    /// keeps for backward (``Recomputation/none`` by default), for every layer
    /// and direction. Not a weight: two LSTMs that differ only here compute the
    /// same numbers.
    ///
    /// Bytes kept per layer and direction from the training forward to
    /// backward, with B sequences, T timesteps, H hidden units, 4-byte floats
    /// (`recordBytes(batch:timesteps:hiddenSize:recomputation:)`):
    ///
    ///     .none:               4 * B * T * 7H           (gates 4H, c_t, c_{t-1}, h_{t-1} per row)
    ///     .keepStatesEvery(k): 4 * S * B * 2H,  S = ceil(T / k)   ((h, c) per kept state, h0 and c0 included)
    ///
    /// and the time loop's workspace while backward runs, on top of that
    /// (`timeLoopBytes(batch:timesteps:hiddenSize:recomputation:)`):
    ///
    ///     .none:               4 * (B * T * 4H + 2 * B * H)                    (dA of every row)
    ///     .keepStatesEvery(k): 4 * (B * T * 5H + K * B * 7H + 4 * B * H),  K = min(k, T)
    ///                                          (dA and h_{t-1} of every row; one segment's gates, c_t, c_{t-1}, h_t)
    ///
    /// Both leave out what either way holds: each layer's input (and dropout
    /// mask), the output, the gradients, and forward's [B * T, 4H] scratch for
    /// inputs too large for the fused steps. Recomputation costs one more
    /// forward pass of the time loop in backward (measured in the README's "Measured" section).
    ///
    /// With projections (P units of h) or ``recurrentDropout``, training runs
    /// the plain route, which keeps every row whatever this says:
    /// 4 * B * T * (7H + P) bytes per layer and direction (m_t too), and with
    /// recurrent dropout its four (B, P) masks (``estimatedFootprint(inputSize:hiddenSize:projectionSize:layerCount:bidirectional:dropout:recurrentDropout:inputDimensions:returnSequences:recomputation:)``).
    public var recomputation: Recomputation = .none
    /// As a ``Layer``, whether the output is every timestep (B, T, D * H), true
    /// by default as PyTorch's `nn.LSTM`, or the last valid one (B, D * H), as
    /// Keras's `return_sequences=False`. The LSTM's own methods take
    /// `returnSequences:` per call instead.
    public var returnSequences = true
    /// What a padded step outputs (see ``MaskedOutput``): zero by default, as
    /// PyTorch's packed sequences; ``MaskedOutput/lastValid`` for Keras's
    /// default. Not a weight. Applies to the returned sequence; the last-step
    /// output (`returnSequences` false) is always each sequence's final hidden state.
    public var maskedOutput: MaskedOutput = .zero
    /// Keras's `go_backwards`: the LSTM reads each batch with its time axis
    /// reversed (mask or lengths included, so post-padding is met first) and
    /// returns the sequence in that processing order: output step s belongs to
    /// input step T - 1 - s. Equal to running the LSTM on the reversed input.
    /// Not a weight; false by default.
    public var goBackwards = false

    /// 1, or 2 when bidirectional.
    public var directionCount: Int { isBidirectional ? 2 : 1 }
    /// Units of h per direction: ``projectionSize`` with projections, else ``hiddenSize``.
    public var hiddenStateSize: Int { projectionSize > 0 ? projectionSize : hiddenSize }
    /// Features per timestep of the output: `directionCount * hiddenStateSize`.
    public var outputSize: Int { directionCount * hiddenStateSize }

    /// A new LSTM with seeded initial weights; without biases when `bias` is
    /// false; with projections to `projectionSize` units when it is above 0
    /// (PyTorch's `proj_size`, below `hiddenSize`; PyTorch's initialization only).
    ///
    /// - Throws: `invalidArgument` for non-positive sizes, a dropout or
    ///   recurrent dropout outside `0 ..< 1`, a projection size outside
    ///   `0 ..< hiddenSize` or with `.keras`.
    public init(
        inputSize: Int, hiddenSize: Int, projectionSize: Int = 0, layerCount: Int = 1, bidirectional: Bool = false,
        bias: Bool = true, dropout: Float = 0, recurrentDropout: Float = 0, initialization: LSTMInitialization = .pytorch,
        seed: UInt64 = 0
    ) throws {
        try RecurrentError.requirePositive(inputSize, "inputSize")
        try RecurrentError.requirePositive(hiddenSize, "hiddenSize")
        try RecurrentError.requirePositive(layerCount, "layerCount")
        guard projectionSize >= 0 && projectionSize < hiddenSize else {
            throw RecurrentError.invalidArgument(name: "projectionSize", expected: "0 (none) or 1..<\(hiddenSize) (below hiddenSize, as PyTorch requires)",
                                                 actual: "\(projectionSize)")
        }
        guard projectionSize == 0 || initialization == .pytorch else {
            throw RecurrentError.invalidArgument(name: "initialization", expected: ".pytorch with projections (Keras has none)",
                                                 actual: ".keras")
        }
        guard dropout >= 0 && dropout < 1 else {
            throw RecurrentError.invalidArgument(name: "dropout", expected: "a probability in 0..<1", actual: "\(dropout)")
        }
        guard recurrentDropout >= 0 && recurrentDropout < 1 else {
            throw RecurrentError.invalidArgument(name: "recurrentDropout", expected: "a probability in 0..<1",
                                                 actual: "\(recurrentDropout)")
        }
        var generator = SeededGenerator(seed: seed)
        var layers: [LSTMDirectionWeights] = []
        for layer in 0 ..< layerCount {
            for _ in 0 ..< (bidirectional ? 2 : 1) {
                let state = projectionSize > 0 ? projectionSize : hiddenSize
                let input = layer == 0 ? inputSize : (bidirectional ? 2 : 1) * state
                var weights = try initialization.makeWeights(inputSize: input, hiddenSize: hiddenSize,
                                                             projectionSize: projectionSize, generator: &generator)
                if !bias { (weights.inputBias, weights.recurrentBias) = (try Tensor(shape: [0]), try Tensor(shape: [0])) }
                layers.append(weights)
            }
        }
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.isBidirectional = bidirectional
        self.projectionSize = projectionSize
        self.hasBias = bias
        self.dropout = dropout
        self.recurrentDropout = recurrentDropout
        self.layers = layers
    }

    /// An LSTM with the given weights (index `layer * directions + direction`);
    /// with `bias` false, every entry's biases must be empty (0); with a
    /// `projectionSize` above 0, every entry needs projection weights.
    ///
    /// - Throws: `invalidArgument` for the wrong number of entries or projection
    ///   weights that are missing or not expected; `shapeMismatch` naming the
    ///   first tensor whose shape does not fit the sizes.
    public init(inputSize: Int, hiddenSize: Int, projectionSize: Int = 0, layerCount: Int = 1, bidirectional: Bool = false,
                bias: Bool = true, dropout: Float = 0, recurrentDropout: Float = 0, weights: [LSTMDirectionWeights]) throws {
        try self.init(inputSize: inputSize, hiddenSize: hiddenSize, projectionSize: projectionSize, layerCount: layerCount,
                      bidirectional: bidirectional, bias: bias, dropout: dropout, recurrentDropout: recurrentDropout)
        try validateShapes(of: weights, "LSTM weights")
        layers = weights
    }

    /// Throws unless ``layers`` holds one entry per layer and direction of this
    /// LSTM's sizes and ``dropout`` and ``recurrentDropout`` are in `0 ..< 1`:
    /// the kernels read each tensor's `4H * I`, `4H * H` or `4H` floats without bounds checks.
    ///
    /// - Throws: `invalidArgument` for another number of entries or a dropout
    ///   or recurrent dropout outside `0 ..< 1`; `shapeMismatch` naming the first tensor of another
    ///   shape by its place and PyTorch name (`LSTM layers[1].inputBias (bias_ih_l0_reverse)`).
    func validateParameters() throws {
        try validateShapes(of: layers, "LSTM")
        guard dropout >= 0 && dropout < 1 else {
            throw RecurrentError.invalidArgument(name: "LSTM dropout", expected: "a probability in 0..<1", actual: "\(dropout)")
        }
        guard recurrentDropout >= 0 && recurrentDropout < 1 else {
            throw RecurrentError.invalidArgument(name: "LSTM recurrentDropout", expected: "a probability in 0..<1",
                                                 actual: "\(recurrentDropout)")
        }
    }

    /// Throws unless `entries` (weights or their gradients) has one entry per
    /// layer and direction, each of this LSTM's shapes; `owner` starts the name.
    func validateShapes(of entries: [LSTMDirectionWeights], _ owner: String) throws {
        guard entries.count == layerCount * directionCount else {
            throw RecurrentError.invalidArgument(
                name: "\(owner) layers", expected: "\(layerCount * directionCount) entries (layers x directions)",
                actual: "\(entries.count)")
        }
        for (index, entry) in entries.enumerated() {
            try entry.validate(inputSize: layerInputSize(index / directionCount), hiddenSize: hiddenSize,
                               projectionSize: projectionSize, bias: hasBias) { property, name in
                "\(owner) layers[\(index)].\(property) (\(name)\(parameterSuffix(index)))"
            }
        }
    }

    /// PyTorch's suffix for entry `index` of ``layers``: `_l0`, `_l0_reverse`, `_l1`, ...
    func parameterSuffix(_ index: Int) -> String {
        "_l\(index / directionCount)" + (index % directionCount == 1 ? "_reverse" : "")
    }

    /// Bytes one layer and direction keeps from the training forward for
    /// backward beyond its input: the record of every row, or S states (h, c)
    /// with ``Recomputation/keepStatesEvery(_:)``. The formula of ``recomputation``, for a memory plan.
    static func recordBytes(batch: Int, timesteps: Int, hiddenSize: Int, recomputation: Recomputation) -> Int {
        let floats: Int
        switch recomputation {
        case .none:
            floats = batch * timesteps * 7 * hiddenSize
        case .keepStatesEvery(let k):
            floats = TimeSegments(timesteps: timesteps, interval: max(1, k)).count * batch * 2 * hiddenSize
        }
        return floats * MemoryLayout<Float>.stride
    }

    /// Bytes of one layer and direction's time-loop workspace while its
    /// backward runs, on top of ``recordBytes(batch:timesteps:hiddenSize:recomputation:)``.
    /// The formula of ``recomputation``, for a memory plan.
    static func timeLoopBytes(batch: Int, timesteps: Int, hiddenSize: Int, recomputation: Recomputation) -> Int {
        let g = LSTMSequenceGeometry(batch: batch, timesteps: timesteps, inputSize: 1, hiddenSize: hiddenSize,
                                     timeMajor: false, reversed: false)
        let floats: Int
        switch recomputation {
        case .none: floats = lstmBackwardWorkspaceCount(g)
        case .keepStatesEvery(let k): floats = lstmRecomputedWorkspaceCount(g, TimeSegments(timesteps: timesteps, interval: max(1, k)))
        }
        return floats * MemoryLayout<Float>.stride
    }

    /// Input features of `layer`: the LSTM's input size, then the previous layer's output.
    func layerInputSize(_ layer: Int) -> Int { layer == 0 ? inputSize : outputSize }

    /// Every parameter tensor with PyTorch's name (`weight_ih_l0`, `bias_hh_l1_reverse`, ...),
    /// in the state dict's order; no biases without ``hasBias``.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        layers.enumerated().flatMap { index, weights -> [(name: String, tensor: Tensor)] in
            let suffix = parameterSuffix(index)
            return LSTMDirectionWeights.parameterKeyPaths(bias: hasBias, projection: projectionSize > 0).map { ($0.name + suffix, weights[keyPath: $0.keyPath]) }
        }
    }
}

extension LSTMInitialization {
    func makeWeights(inputSize: Int, hiddenSize: Int, projectionSize: Int = 0, generator: inout SeededGenerator) throws
        -> LSTMDirectionWeights {
        var weights = try LSTMDirectionWeights.zeros(inputSize: inputSize, hiddenSize: hiddenSize, projectionSize: projectionSize)
        switch self {
        case .pytorch:
            let bound = 1 / Float(hiddenSize).squareRoot()
            let state = projectionSize > 0 ? projectionSize : hiddenSize
            weights.withMutablePointers { wi, wh, bi, bh in
                for (pointer, count) in [(wi, 4 * hiddenSize * inputSize), (wh, 4 * hiddenSize * state),
                                         (bi, 4 * hiddenSize), (bh, 4 * hiddenSize)] {
                    for i in 0 ..< count { pointer[i] = (2 * generator.nextUnitFloat() - 1) * bound }
                }
            }
            if projectionSize > 0 {   // PyTorch draws weight_hr from the same bound
                weights.projectionWeights = try Tensor(shape: [projectionSize, hiddenSize], scalars: (0 ..< projectionSize * hiddenSize).map { _ in
                    (2 * generator.nextUnitFloat() - 1) * bound
                })
            }
        case .keras:
            // Glorot uniform over Keras's (input, 4 * units) kernel: fan in I, fan out 4H.
            let limit = (6 / Float(inputSize + 4 * hiddenSize)).squareRoot()
            let orthogonal = orthogonalColumns(rows: 4 * hiddenSize, columns: hiddenSize, generator: &generator)
            weights.withMutablePointers { wi, wh, bi, _ in
                for i in 0 ..< 4 * hiddenSize * inputSize { wi[i] = (2 * generator.nextUnitFloat() - 1) * limit }
                for i in 0 ..< 4 * hiddenSize * hiddenSize { wh[i] = orthogonal[i] }
                for j in hiddenSize ..< 2 * hiddenSize { bi[j] = 1 }   // forget gate bias 1
            }
        }
        return weights
    }
}

/// A (rows, columns) matrix with orthonormal columns (rows >= columns), from
/// Gram-Schmidt on seeded normal values: the transpose of Keras's orthogonal
/// (units, 4 * units) recurrent kernel, which has orthonormal rows.
func orthogonalColumns(rows: Int, columns: Int, generator: inout SeededGenerator) -> [Float] {
    var q = [Double](repeating: 0, count: rows * columns)
    for i in 0 ..< rows * columns { q[i] = generator.nextNormal() }
    for j in 0 ..< columns {
        for _ in 0 ..< 2 {   // orthogonalize twice: classic Gram-Schmidt repeated is stable
            for k in 0 ..< j {
                var dot = 0.0
                for i in 0 ..< rows { dot += q[i * columns + j] * q[i * columns + k] }
                for i in 0 ..< rows { q[i * columns + j] -= dot * q[i * columns + k] }
            }
        }
        var norm = 0.0
        for i in 0 ..< rows { norm += q[i * columns + j] * q[i * columns + j] }
        norm = norm.squareRoot()
        for i in 0 ..< rows { q[i * columns + j] /= norm }
    }
    return q.map { Float($0) }
}

extension SeededGenerator {
    /// A standard normal value (Box-Muller).
    mutating func nextNormal() -> Double {
        let u1 = max(Double(next() >> 11) * 0x1p-53, .leastNonzeroMagnitude)
        let u2 = Double(next() >> 11) * 0x1p-53
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

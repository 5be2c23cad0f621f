import FrameSequencing

/// How a GRU's weights are first set. Every choice is seeded.
public enum GRUInitialization: Sendable, Hashable {
    /// PyTorch's `nn.GRU`: every weight and bias uniform in ±1/sqrt(hidden).
    case pytorch
    /// Keras's `GRU`: Glorot-uniform input kernel, orthogonal recurrent kernel, zero biases.
    case keras
}

/// A multi-layer, optionally bidirectional GRU over (batch, timesteps,
/// features), matching `torch.nn.GRU` and `keras.layers.GRU` (both
/// `reset_after` forms) number for number.
///
/// ```swift
/// let gru = try GRU(inputSize: 84, hiddenSize: 128, layerCount: 2, seed: 1)
/// let result = try gru.forward(batch)                  // (B, T, 128) and h_n
/// let (train, cache) = try gru.trainingForward(batch)
/// var gradients = gru.zeroGradients()
/// let inputGradients = try gru.backward(outputGradient: g, cache: cache, into: &gradients)
/// ```
///
/// With gate blocks r (reset), z (update), n (new), per step:
///
///     r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
///     z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
///     n = tanh(W_in x + b_in + r * (W_hn h + b_hn))      resetAfter (PyTorch; Keras's default)
///     n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)      !resetAfter (Keras's reset_after=False)
///     h' = (1 - z) * n + z * h
///
/// Gate order is r, z, n everywhere; weights use PyTorch's layout (see
/// ``GRUDirectionWeights``); Keras's z, r, h order is converted on import and export.
public struct GRU: Sendable {
    /// Features per timestep of the input (I).
    public let inputSize: Int
    /// Hidden units per direction (H).
    public let hiddenSize: Int
    /// Stacked layers (L).
    public let layerCount: Int
    /// Whether each layer also runs backwards in time (D = 2).
    public let isBidirectional: Bool
    /// Whether the gates have biases (PyTorch's `bias`, Keras's `use_bias`).
    /// Without, ``namedParameters``, the gradients and the exports hold none,
    /// and each direction's bias tensors are empty, shape (0).
    public let hasBias: Bool
    /// Whether the reset gate multiplies the new gate's recurrent product
    /// (true: PyTorch, Keras's `reset_after=True`) or the hidden state before
    /// it (false: Keras's `reset_after=False`, the GRU of Cho et al. 2014).
    public let resetsAfterProduct: Bool
    /// Probability of zeroing an input of layers after the first during training
    /// (PyTorch's `dropout`), in `0 ..< 1`.
    public var dropout: Float
    /// The weights, index `layer * directionCount + direction` (forward first).
    /// Replace them with values of the same shapes only: every forward and
    /// backward pass checks the count and every tensor's shape first, and
    /// throws naming the first that changed.
    public var layers: [GRUDirectionWeights] {
        // Every write drops what inference packed from the old values.
        didSet { inferencePacking = GRUInferencePacking() }
    }
    /// The weights as inference packed them, for the calls after it (GRUPackedWeights.swift).
    var inferencePacking = GRUInferencePacking()
    /// As a ``Layer``, whether the output is every timestep (B, T, D * H), true
    /// by default as PyTorch's `nn.GRU`, or the last valid one (B, D * H), as
    /// Keras's `return_sequences=False`.
    public var returnSequences = true
    /// What a padded step outputs (see ``MaskedOutput``): zero by default, as
    /// PyTorch's packed sequences; ``MaskedOutput/lastValid`` for Keras's
    /// default. Not a weight. Applies to the returned sequence; the last-step
    /// output (`returnSequences` false) is always each sequence's final hidden state.
    public var maskedOutput: MaskedOutput = .zero
    /// Keras's `go_backwards`: the GRU reads each batch with its time axis
    /// reversed (mask or lengths included, so post-padding is met first) and
    /// returns the sequence in that processing order: output step s belongs to
    /// input step T - 1 - s. Equal to running the GRU on the reversed input.
    /// Not a weight; false by default.
    public var goBackwards = false

    /// 1, or 2 when bidirectional.
    public var directionCount: Int { isBidirectional ? 2 : 1 }
    /// Features per timestep of the output: `directionCount * hiddenSize`.
    public var outputSize: Int { directionCount * hiddenSize }

    /// A new GRU with seeded initial weights.
    ///
    /// - Parameters:
    ///   - inputSize: features per timestep of the input, I.
    ///   - hiddenSize: units per layer and direction, H.
    ///   - layerCount: stacked layers, L (PyTorch's `num_layers`).
    ///   - bidirectional: also run each layer over the reversed sequence (D = 2).
    ///   - bias: whether the gates have biases (PyTorch's `bias`).
    ///   - resetAfter: see ``resetsAfterProduct``; true is PyTorch's GRU.
    ///   - dropout: the chance of zeroing each output of a layer before the next
    ///     one while training (PyTorch's `dropout`), in `0 ..< 1`.
    ///   - initialization: how the weights are drawn (see ``GRUInitialization``).
    ///   - seed: the seed of that draw.
    /// - Throws: `invalidArgument` for non-positive sizes or a dropout outside `0 ..< 1`.
    public init(
        inputSize: Int, hiddenSize: Int, layerCount: Int = 1, bidirectional: Bool = false, bias: Bool = true,
        resetAfter: Bool = true, dropout: Float = 0, initialization: GRUInitialization = .pytorch, seed: UInt64 = 0
    ) throws {
        try RecurrentError.requirePositive(inputSize, "inputSize")
        try RecurrentError.requirePositive(hiddenSize, "hiddenSize")
        try RecurrentError.requirePositive(layerCount, "layerCount")
        guard dropout >= 0 && dropout < 1 else {
            throw RecurrentError.invalidArgument(name: "dropout", expected: "a probability in 0..<1", actual: "\(dropout)")
        }
        var generator = SeededGenerator(seed: seed)
        var layers: [GRUDirectionWeights] = []
        for layer in 0 ..< layerCount {
            for _ in 0 ..< (bidirectional ? 2 : 1) {
                let input = layer == 0 ? inputSize : (bidirectional ? 2 : 1) * hiddenSize
                var weights = try initialization.makeWeights(inputSize: input, hiddenSize: hiddenSize, generator: &generator)
                if !bias { (weights.inputBias, weights.recurrentBias) = (try Tensor(shape: [0]), try Tensor(shape: [0])) }
                layers.append(weights)
            }
        }
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.isBidirectional = bidirectional
        self.hasBias = bias
        self.resetsAfterProduct = resetAfter
        self.dropout = dropout
        self.layers = layers
    }

    /// A GRU with the given weights (index `layer * directions + direction`).
    ///
    /// With `bias` false, every entry's biases must be empty (0); with `bias`,
    /// (3 * hidden).
    ///
    /// - Throws: `invalidArgument` for the wrong number of entries;
    ///   `shapeMismatch` naming the first tensor whose shape does not fit the
    ///   sizes, a bias given to a GRU without biases or missing from one with them.
    public init(inputSize: Int, hiddenSize: Int, layerCount: Int = 1, bidirectional: Bool = false, bias: Bool = true,
                resetAfter: Bool = true, dropout: Float = 0, weights: [GRUDirectionWeights]) throws {
        try self.init(inputSize: inputSize, hiddenSize: hiddenSize, layerCount: layerCount, bidirectional: bidirectional,
                      bias: bias, resetAfter: resetAfter, dropout: dropout)
        try validateShapes(of: weights, "GRU weights")
        layers = weights
        try validateParameters()
    }

    /// Throws unless ``layers`` holds one entry per layer and direction of this
    /// GRU's sizes (empty biases without ``hasBias``), and ``dropout`` is in
    /// `0 ..< 1`: the kernels read each tensor's `3H * I`, `3H * H` or `3H`
    /// floats without bounds checks.
    ///
    /// - Throws: `invalidArgument` for another number of entries or a dropout
    ///   outside `0 ..< 1`; `shapeMismatch` naming the first tensor of another
    ///   shape by its place and PyTorch name (`GRU layers[1].inputBias (bias_ih_l0_reverse)`).
    func validateParameters() throws {
        try validateShapes(of: layers, "GRU")
        guard dropout >= 0 && dropout < 1 else {
            throw RecurrentError.invalidArgument(name: "GRU dropout", expected: "a probability in 0..<1", actual: "\(dropout)")
        }
    }

    /// Throws unless `entries` (weights or their gradients) has one entry per
    /// layer and direction, each of this GRU's shapes (empty biases without
    /// ``hasBias``); `owner` starts the name.
    func validateShapes(of entries: [GRUDirectionWeights], _ owner: String) throws {
        guard entries.count == layerCount * directionCount else {
            throw RecurrentError.invalidArgument(
                name: "\(owner) layers", expected: "\(layerCount * directionCount) entries (layers x directions)",
                actual: "\(entries.count)")
        }
        for (index, entry) in entries.enumerated() {
            try entry.validate(inputSize: layerInputSize(index / directionCount), hiddenSize: hiddenSize,
                               bias: hasBias) { property, name in
                "\(owner) layers[\(index)].\(property) (\(name)\(parameterSuffix(index)))"
            }
        }
    }

    /// PyTorch's suffix for entry `index` of ``layers``: `_l0`, `_l0_reverse`, `_l1`, ...
    func parameterSuffix(_ index: Int) -> String {
        "_l\(index / directionCount)" + (index % directionCount == 1 ? "_reverse" : "")
    }

    /// Input features of `layer`: the GRU's input size, then the previous layer's output.
    func layerInputSize(_ layer: Int) -> Int { layer == 0 ? inputSize : outputSize }

    /// Every parameter tensor with PyTorch's name (`weight_ih_l0`, `bias_hh_l1_reverse`, ...);
    /// no biases without ``hasBias``, as PyTorch's `bias=False`.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        layers.enumerated().flatMap { index, weights -> [(name: String, tensor: Tensor)] in
            let suffix = parameterSuffix(index)
            let matrices = [("weight_ih" + suffix, weights.inputWeights), ("weight_hh" + suffix, weights.recurrentWeights)]
            guard hasBias else { return matrices }
            return matrices + [("bias_ih" + suffix, weights.inputBias), ("bias_hh" + suffix, weights.recurrentBias)]
        }
    }
}

extension GRUInitialization {
    func makeWeights(inputSize: Int, hiddenSize: Int, generator: inout SeededGenerator) throws -> GRUDirectionWeights {
        var weights = try GRUDirectionWeights.zeros(inputSize: inputSize, hiddenSize: hiddenSize)
        let width = 3 * hiddenSize
        switch self {
        case .pytorch:
            let bound = 1 / Float(hiddenSize).squareRoot()
            for keyPath in GRUDirectionWeights.keyPaths {
                let count = weights[keyPath: keyPath].count
                weights[keyPath: keyPath] = try Tensor(shape: weights[keyPath: keyPath].shape,
                                                       scalars: (0 ..< count).map { _ in (2 * generator.nextUnitFloat() - 1) * bound })
            }
        case .keras:
            // Glorot uniform over Keras's (input, 3 * units) kernel: fan in I, fan out 3H.
            let limit = (6 / Float(inputSize + width)).squareRoot()
            weights.inputWeights = try Tensor(shape: [width, inputSize], scalars: (0 ..< width * inputSize).map { _ in
                (2 * generator.nextUnitFloat() - 1) * limit
            })
            weights.recurrentWeights = try Tensor(
                shape: [width, hiddenSize], scalars: orthogonalColumns(rows: width, columns: hiddenSize, generator: &generator))
        }
        return weights
    }
}

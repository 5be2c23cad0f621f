import FrameSequencing

/// The parameters of one direction of one LSTM layer, in PyTorch's layout with
/// gate blocks in the order input, forget, cell, output (i, f, g, o).
///
/// Keras's single bias maps to `inputBias` with a zero `recurrentBias`; its
/// `(input, 4 * units)` kernels are the transposes of these (see `Interop/`).
public struct LSTMDirectionWeights: Sendable, Equatable {
    /// (4 * hidden, input): PyTorch `weight_ih_l<k>`.
    public var inputWeights: Tensor
    /// (4 * hidden, hidden): PyTorch `weight_hh_l<k>`.
    public var recurrentWeights: Tensor
    /// (4 * hidden): PyTorch `bias_ih_l<k>`.
    public var inputBias: Tensor
    /// (4 * hidden): PyTorch `bias_hh_l<k>`.
    public var recurrentBias: Tensor

    /// Weights of the given sizes, every value zero.
    public static func zeros(inputSize: Int, hiddenSize: Int) throws -> LSTMDirectionWeights {
        LSTMDirectionWeights(
            inputWeights: try Tensor(shape: [4 * hiddenSize, inputSize]),
            recurrentWeights: try Tensor(shape: [4 * hiddenSize, hiddenSize]),
            inputBias: try Tensor(shape: [4 * hiddenSize]),
            recurrentBias: try Tensor(shape: [4 * hiddenSize]))
    }

    /// Throws `shapeMismatch` unless every tensor has the shape of a layer with
    /// these sizes; `name(property, pytorchName)` labels the error
    /// (`"inputBias"`, `"bias_ih"`).
    func validate(inputSize: Int, hiddenSize: Int, name: (_ property: String, _ pytorchName: String) -> String) throws {
        try RecurrentError.requireShape(inputWeights, [4 * hiddenSize, inputSize], name("inputWeights", "weight_ih"))
        try RecurrentError.requireShape(recurrentWeights, [4 * hiddenSize, hiddenSize], name("recurrentWeights", "weight_hh"))
        try RecurrentError.requireShape(inputBias, [4 * hiddenSize], name("inputBias", "bias_ih"))
        try RecurrentError.requireShape(recurrentBias, [4 * hiddenSize], name("recurrentBias", "bias_hh"))
    }

    /// Every tensor with its values set to zero (shapes kept).
    mutating func zero() {
        for keyPath in [\LSTMDirectionWeights.inputWeights, \.recurrentWeights, \.inputBias, \.recurrentBias] {
            self[keyPath: keyPath].fill(with: 0)
        }
    }
}

/// Gradients of every LSTM parameter, the same shapes as the weights; backward
/// adds into them, so several backward calls accumulate until ``zero()``.
public struct LSTMGradients: Sendable, Equatable {
    /// One entry per (layer, direction), index `layer * directions + direction`.
    public var layers: [LSTMDirectionWeights]

    /// Gradients of the given entries, index `layer * directions + direction`.
    public init(layers: [LSTMDirectionWeights]) {
        self.layers = layers
    }

    /// Zero gradients for `lstm`'s parameters, of the shapes its sizes give
    /// (not those of its current weights, which backward checks).
    @available(*, deprecated, message: "use lstm.zeroGradients(), which cannot fail")
    public init(zerosFor lstm: LSTM) throws {
        layers = try (0 ..< lstm.layerCount * lstm.directionCount).map {
            try LSTMDirectionWeights.zeros(inputSize: lstm.layerInputSize($0 / lstm.directionCount), hiddenSize: lstm.hiddenSize)
        }
    }

    /// Sets every gradient to zero.
    public mutating func zero() {
        for index in layers.indices { layers[index].zero() }
    }
}

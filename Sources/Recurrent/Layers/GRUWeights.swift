import FrameSequencing

/// The parameters of one direction of one GRU layer, in PyTorch's layout with
/// gate blocks in the order reset, update, new (r, z, n).
///
/// Keras's kernels are the transposes of these with the gate blocks in the
/// order z, r, h; its bias, (2, 3 units) with `reset_after=True` or (3 units)
/// without, maps to `inputBias` and `recurrentBias` (see `Interop/`). A GRU
/// without biases (PyTorch's `bias=False`, Keras's `use_bias=False`) holds both
/// biases empty, shape (0): they are not parameters then.
public struct GRUDirectionWeights: Sendable, Equatable {
    /// (3 * hidden, input): PyTorch `weight_ih_l<k>`.
    public var inputWeights: Tensor
    /// (3 * hidden, hidden): PyTorch `weight_hh_l<k>`.
    public var recurrentWeights: Tensor
    /// (3 * hidden): PyTorch `bias_ih_l<k>`; (0) without biases.
    public var inputBias: Tensor
    /// (3 * hidden): PyTorch `bias_hh_l<k>`; (0) without biases. Inside the reset product for the
    /// new gate (`r * (W_hn h + b_hn)`) when the GRU resets after the
    /// recurrent product, added beside it otherwise.
    public var recurrentBias: Tensor

    /// Weights of the given tensors (checked where they are used).
    public init(inputWeights: Tensor, recurrentWeights: Tensor, inputBias: Tensor, recurrentBias: Tensor) {
        self.inputWeights = inputWeights
        self.recurrentWeights = recurrentWeights
        self.inputBias = inputBias
        self.recurrentBias = recurrentBias
    }

    /// Weights of the given sizes, every value zero; the biases empty (0)
    /// when `bias` is false.
    public static func zeros(inputSize: Int, hiddenSize: Int, bias: Bool = true) throws -> GRUDirectionWeights {
        GRUDirectionWeights(
            inputWeights: try Tensor(shape: [3 * hiddenSize, inputSize]),
            recurrentWeights: try Tensor(shape: [3 * hiddenSize, hiddenSize]),
            inputBias: try Tensor(shape: [bias ? 3 * hiddenSize : 0]),
            recurrentBias: try Tensor(shape: [bias ? 3 * hiddenSize : 0]))
    }

    /// Throws `shapeMismatch` unless every tensor has the shape of a layer with
    /// these sizes, the biases (3 * hidden) with `bias` and (0) without;
    /// `name(property, pytorchName)` labels the error.
    func validate(inputSize: Int, hiddenSize: Int, bias: Bool,
                  name: (_ property: String, _ pytorchName: String) -> String) throws {
        try RecurrentError.requireShape(inputWeights, [3 * hiddenSize, inputSize], name("inputWeights", "weight_ih"))
        try RecurrentError.requireShape(recurrentWeights, [3 * hiddenSize, hiddenSize], name("recurrentWeights", "weight_hh"))
        let biasShape = [bias ? 3 * hiddenSize : 0]
        try RecurrentError.requireShape(inputBias, biasShape, name("inputBias", "bias_ih"))
        try RecurrentError.requireShape(recurrentBias, biasShape, name("recurrentBias", "bias_hh"))
    }

    /// The four tensors in PyTorch's order, with their key paths.
    static var keyPaths: [WritableKeyPath<GRUDirectionWeights, Tensor>] {
        [\.inputWeights, \.recurrentWeights, \.inputBias, \.recurrentBias]
    }

    /// Every tensor with its values set to zero (shapes kept).
    mutating func zero() {
        for keyPath in Self.keyPaths { self[keyPath: keyPath].fill(with: 0) }
    }
}

/// Gradients of every GRU parameter, the same shapes as the weights; backward
/// adds into them, so several backward calls accumulate until ``zero()``.
/// A GRU without biases has empty bias gradients, as its biases: they are not
/// among ``tensors``.
public struct GRUGradients: Sendable, Equatable {
    /// One entry per (layer, direction), index `layer * directions + direction`.
    public var layers: [GRUDirectionWeights]

    /// Gradients of the given entries, index `layer * directions + direction`.
    public init(layers: [GRUDirectionWeights]) {
        self.layers = layers
    }

    /// Sets every gradient to zero.
    public mutating func zero() {
        for index in layers.indices { layers[index].zero() }
    }
}

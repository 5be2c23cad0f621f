import FrameSequencing

/// The parameters of one direction of one LSTM layer, in PyTorch's layout with
/// gate blocks in the order input, forget, cell, output (i, f, g, o).
///
/// Keras's single bias maps to `inputBias` with a zero `recurrentBias`; its
/// `(input, 4 * units)` kernels are the transposes of these (see `Interop/`).
/// An LSTM without biases (PyTorch's `bias=False`, Keras's `use_bias=False`)
/// holds both biases empty, shape (0): they are not parameters then. With
/// projections (PyTorch's `proj_size` P), h has P units: `recurrentWeights` is
/// (4 * hidden, P) and `projectionWeights` (P, hidden) maps the cell output to h.
public struct LSTMDirectionWeights: Sendable, Equatable {
    /// (4 * hidden, input): PyTorch `weight_ih_l<k>`.
    public var inputWeights: Tensor
    /// (4 * hidden, hidden), or (4 * hidden, P) with projections: PyTorch `weight_hh_l<k>`.
    public var recurrentWeights: Tensor
    /// (4 * hidden): PyTorch `bias_ih_l<k>`; (0) without biases.
    public var inputBias: Tensor
    /// (4 * hidden): PyTorch `bias_hh_l<k>`; (0) without biases.
    public var recurrentBias: Tensor
    /// (P, hidden): PyTorch `weight_hr_l<k>`, h_t = W_hr (o * tanh(c_t));
    /// `nil` without projections.
    public var projectionWeights: Tensor?

    init(inputWeights: Tensor, recurrentWeights: Tensor, inputBias: Tensor, recurrentBias: Tensor,
         projectionWeights: Tensor? = nil) {
        self.inputWeights = inputWeights
        self.recurrentWeights = recurrentWeights
        self.inputBias = inputBias
        self.recurrentBias = recurrentBias
        self.projectionWeights = projectionWeights
    }

    /// Weights of the given sizes, every value zero; the biases empty (0)
    /// when `bias` is false; projections to `projectionSize` units when it is above 0.
    public static func zeros(inputSize: Int, hiddenSize: Int, projectionSize: Int = 0, bias: Bool = true) throws
        -> LSTMDirectionWeights {
        LSTMDirectionWeights(
            inputWeights: try Tensor(shape: [4 * hiddenSize, inputSize]),
            recurrentWeights: try Tensor(shape: [4 * hiddenSize, projectionSize > 0 ? projectionSize : hiddenSize]),
            inputBias: try Tensor(shape: [bias ? 4 * hiddenSize : 0]),
            recurrentBias: try Tensor(shape: [bias ? 4 * hiddenSize : 0]),
            projectionWeights: projectionSize > 0 ? try Tensor(shape: [projectionSize, hiddenSize]) : nil)
    }

    /// The tensors that are parameters, with their property and PyTorch names
    /// (`weight_ih`, `bias_hh`), in PyTorch's order: the biases only with `bias`
    /// (the LSTM's, not read from the tensors, which an optimizer may have moved out).
    static func parameterKeyPaths(bias: Bool, projection: Bool = false)
        -> [(keyPath: WritableKeyPath<LSTMDirectionWeights, Tensor>, name: String)] {
        [(\.inputWeights, "weight_ih"), (\.recurrentWeights, "weight_hh")]
            + (bias ? [(\.inputBias, "bias_ih"), (\.recurrentBias, "bias_hh")] : [])
            + (projection ? [(\.projectionWeights!, "weight_hr")] : [])
    }

    /// Throws `shapeMismatch` unless every tensor has the shape of a layer with
    /// these sizes; `name(property, pytorchName)` labels the error
    /// (`"inputBias"`, `"bias_ih"`).
    func validate(inputSize: Int, hiddenSize: Int, projectionSize: Int = 0, bias: Bool,
                  name: (_ property: String, _ pytorchName: String) -> String) throws {
        try RecurrentError.requireShape(inputWeights, [4 * hiddenSize, inputSize], name("inputWeights", "weight_ih"))
        try RecurrentError.requireShape(recurrentWeights, [4 * hiddenSize, projectionSize > 0 ? projectionSize : hiddenSize],
                                        name("recurrentWeights", "weight_hh"))
        switch (projectionWeights, projectionSize > 0) {
        case (let projection?, true):
            try RecurrentError.requireShape(projection, [projectionSize, hiddenSize], name("projectionWeights", "weight_hr"))
        case (nil, false):
            break
        case (let projection, _):
            throw RecurrentError.invalidArgument(
                name: name("projectionWeights", "weight_hr"),
                expected: projectionSize > 0 ? "a (\(projectionSize), \(hiddenSize)) tensor" : "nil (no projections)",
                actual: projection.map { "shape \($0.dimensions)" } ?? "nil")
        }
        let biasShape = [bias ? 4 * hiddenSize : 0]
        try RecurrentError.requireShape(inputBias, biasShape, name("inputBias", "bias_ih"))
        try RecurrentError.requireShape(recurrentBias, biasShape, name("recurrentBias", "bias_hh"))
    }

    /// Every tensor with its values set to zero (shapes kept).
    mutating func zero() {
        for keyPath in [\LSTMDirectionWeights.inputWeights, \.recurrentWeights, \.inputBias, \.recurrentBias] {
            self[keyPath: keyPath].fill(with: 0)
        }
        projectionWeights?.fill(with: 0)
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
            try LSTMDirectionWeights.zeros(inputSize: lstm.layerInputSize($0 / lstm.directionCount), hiddenSize: lstm.hiddenSize,
                                           projectionSize: lstm.projectionSize, bias: lstm.hasBias)
        }
    }

    /// Sets every gradient to zero.
    public mutating func zero() {
        for index in layers.indices { layers[index].zero() }
    }
}

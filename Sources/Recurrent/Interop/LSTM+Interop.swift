import FrameSequencing

extension LSTM {
    /// An LSTM holding a PyTorch `nn.LSTM` state dict (`weight_ih_l0`,
    /// `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `..._reverse`, `..._l1`, ...).
    /// Sizes, layer count, direction, biases (`bias=False` has no `bias_*`) and
    /// projections (`proj_size > 0` adds `weight_hr_l<k>`, (P, H)) are read from the tensors.
    ///
    /// - Throws: `missingParameter` naming the first absent tensor, `shapeMismatch`
    ///   for inconsistent shapes; `invalidArgument` for a `bias_*` tensor in a
    ///   dict without `bias_ih_l0` (a bias for an LSTM without biases), or a
    ///   `weight_hr_*` tensor in one without `weight_hr_l0` (a projection of an
    ///   LSTM without projections): such a tensor would otherwise be ignored.
    public init(pytorchStateDict tensors: [String: Tensor], dropout: Float = 0) throws {
        func tensor(_ name: String) throws -> Tensor {
            guard let value = tensors[name] else {
                throw RecurrentError.missingParameter(name: name, available: Array(tensors.keys))
            }
            return value
        }
        let first = try tensor("weight_ih_l0")
        guard first.shape.rank == 2, first.dimensions[0] % 4 == 0, first.dimensions[0] > 0 else {
            throw RecurrentError.shapeMismatch(name: "weight_ih_l0",
                expected: [.multiple(of: 4, "4 * hidden"), .any("input")], actual: first.dimensions)
        }
        var layerCount = 1
        while tensors["weight_ih_l\(layerCount)"] != nil { layerCount += 1 }
        let bidirectional = tensors["weight_ih_l0_reverse"] != nil
        let bias = tensors["bias_ih_l0"] != nil
        let projection = tensors["weight_hr_l0"]
        for (prefix, present, decider, meaning) in [("bias_", bias, "bias_ih_l0", "biases, PyTorch's bias=False"),
                                                    ("weight_hr", projection != nil, "weight_hr_l0", "projections, proj_size=0")]
        where !present {
            if let stray = tensors.keys.filter({ $0.hasPrefix(prefix) }).min() {
                throw RecurrentError.invalidArgument(
                    name: stray, expected: "no \(prefix)* tensors (without \(decider) the LSTM has no \(meaning))",
                    actual: "a tensor of shape \(tensors[stray]!.dimensions); give every one, or none")
            }
        }
        if let projection, projection.shape.rank != 2 || projection.dimensions[1] * 4 != first.dimensions[0] {
            throw RecurrentError.shapeMismatch(name: "weight_hr_l0", expected: [.any("proj_size"), .size(first.dimensions[0] / 4)],
                                               actual: projection.dimensions)
        }
        var weights: [LSTMDirectionWeights] = []
        for layer in 0 ..< layerCount {
            for suffix in bidirectional ? ["", "_reverse"] : [""] {
                let name = "_l\(layer)" + suffix
                weights.append(LSTMDirectionWeights(
                    inputWeights: try tensor("weight_ih" + name), recurrentWeights: try tensor("weight_hh" + name),
                    inputBias: bias ? try tensor("bias_ih" + name) : try Tensor(shape: [0]),
                    recurrentBias: bias ? try tensor("bias_hh" + name) : try Tensor(shape: [0]),
                    projectionWeights: projection == nil ? nil : try tensor("weight_hr" + name)))
            }
        }
        try self.init(inputSize: first.dimensions[1], hiddenSize: first.dimensions[0] / 4,
                      projectionSize: projection?.dimensions[0] ?? 0, layerCount: layerCount,
                      bidirectional: bidirectional, bias: bias, dropout: dropout, weights: weights)
    }

    /// The LSTM's parameters as a PyTorch state dict (``namedParameters``), for
    /// `load_state_dict` after reading the file with `safetensors.torch.load_file`.
    public func pytorchSafeTensors(metadata: [String: String] = [:]) throws -> SafeTensors {
        try SafeTensors(namedParameters.map { SafeTensors.Entry(name: $0.name, array: NumericArray($0.tensor)) },
                        metadata: metadata)
    }

    /// A one-layer unidirectional LSTM holding Keras `LSTM` weights: `kernel`
    /// (input, 4 units), `recurrentKernel` (units, 4 units), `bias` (4 units), gate
    /// order i, f, c, o. The bias becomes ``LSTMDirectionWeights/inputBias``;
    /// `nil` (Keras's `use_bias=False`) makes an LSTM without biases.
    public init(kerasKernel kernel: Tensor, recurrentKernel: Tensor, bias: Tensor?) throws {
        guard kernel.shape.rank == 2, kernel.dimensions[1] % 4 == 0, kernel.dimensions[1] > 0 else {
            throw RecurrentError.shapeMismatch(name: "Keras kernel",
                expected: [.any("input"), .multiple(of: 4, "4 * units")], actual: kernel.dimensions)
        }
        let (input, units) = (kernel.dimensions[0], kernel.dimensions[1] / 4)
        try RecurrentError.requireShape(recurrentKernel, [units, 4 * units], "Keras recurrent kernel")
        if let bias { try RecurrentError.requireShape(bias, [4 * units], "Keras bias") }
        let weights = LSTMDirectionWeights(
            inputWeights: try kernel.transposed2D(), recurrentWeights: try recurrentKernel.transposed2D(),
            inputBias: try bias ?? Tensor(shape: [0]), recurrentBias: try Tensor(shape: [bias == nil ? 0 : 4 * units]))
        try self.init(inputSize: input, hiddenSize: units, bias: bias != nil, weights: [weights])
    }

    /// A one-layer LSTM from a file holding Keras's `kernel`, `recurrent_kernel` and
    /// `bias` (each name preceded by `prefix`, for example `"lstm."`); without
    /// `bias`, an LSTM without biases.
    public init(keras file: SafeTensors, prefix: String = "") throws {
        func tensor(_ name: String) throws -> Tensor {
            guard let array = file[prefix + name] else {
                throw RecurrentError.missingParameter(name: prefix + name, available: file.names)
            }
            return try array.tensor()
        }
        try self.init(kerasKernel: tensor("kernel"), recurrentKernel: tensor("recurrent_kernel"),
                      bias: file[prefix + "bias"] == nil ? nil : tensor("bias"))
    }

    /// Keras `LSTM` weights of a one-layer unidirectional LSTM: the two biases are
    /// summed into Keras's single one, `nil` for an LSTM without biases.
    ///
    /// - Throws: `invalidArgument` for a stacked or bidirectional LSTM (Keras keeps
    ///   those as separate layers) or one with projections (Keras has none); what
    ///   ``forward(_:initialState:lengths:layout:returnSequences:)`` throws for
    ///   weights replaced with tensors of other shapes.
    public func kerasWeights() throws -> (kernel: Tensor, recurrentKernel: Tensor, bias: Tensor?) {
        guard layerCount == 1, !isBidirectional, projectionSize == 0 else {
            throw RecurrentError.invalidArgument(
                name: "LSTM for Keras export", expected: "one unidirectional layer without projections",
                actual: "\(layerCount) layers, \(directionCount) directions, projection size \(projectionSize)")
        }
        try validateParameters()
        let w = layers[0]
        let bias = hasBias ? try Tensor(shape: [4 * hiddenSize], scalars: zip(w.inputBias.scalars, w.recurrentBias.scalars).map(+))
                           : nil
        return (try w.inputWeights.transposed2D(), try w.recurrentWeights.transposed2D(), bias)
    }
}

extension LSTM {
    /// Keras `LSTM` weights as a file: `kernel`, `recurrent_kernel` and `bias` (none
    /// without biases), each name preceded by `prefix`; read back with ``init(keras:prefix:)``.
    public func kerasSafeTensors(prefix: String = "", metadata: [String: String] = [:]) throws -> SafeTensors {
        let weights = try kerasWeights()
        return try SafeTensors([
            .init(name: prefix + "kernel", array: NumericArray(weights.kernel)),
            .init(name: prefix + "recurrent_kernel", array: NumericArray(weights.recurrentKernel)),
        ] + (weights.bias.map { [.init(name: prefix + "bias", array: NumericArray($0))] } ?? []), metadata: metadata)
    }
}

extension Dense {
    /// A layer holding Keras `Dense` weights: `kernel` (input, output), `bias` (output).
    public init(kerasKernel kernel: Tensor, bias: Tensor, activation: Activation = .linear) throws {
        guard kernel.shape.rank == 2 else {
            throw RecurrentError.shapeMismatch(name: "Keras kernel", expected: [.any("input"), .any("output")], actual: kernel.dimensions)
        }
        try self.init(weight: kernel.transposed2D(), bias: bias, activation: activation)
    }

    /// Keras `Dense` weights: `kernel` (input, output) and `bias`.
    public func kerasWeights() throws -> (kernel: Tensor, bias: Tensor) {
        (try weight.transposed2D(), bias)
    }
}

extension Tensor {
    /// The transpose of a rank-2 tensor (a copy).
    func transposed2D() throws -> Tensor {
        guard shape.rank == 2 else {
            throw RecurrentError.invalidArgument(name: "tensor to transpose", expected: "rank 2", actual: "shape \(dimensions)")
        }
        let (rows, columns) = (dimensions[0], dimensions[1])
        let values = scalars
        var result = [Float](repeating: 0, count: count)
        for i in 0 ..< rows { for j in 0 ..< columns { result[j * rows + i] = values[i * columns + j] } }
        return try Tensor(shape: [columns, rows], scalars: result)
    }
}

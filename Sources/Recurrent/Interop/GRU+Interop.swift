import FrameSequencing

// GRU weights from and to PyTorch (`nn.GRU`'s state dict, gate order r, z, n,
// the layout kept here) and Keras (`GRU`'s kernels, transposed, gate order
// z, r, h; its bias (2, 3 units) with reset_after=True or (3 units) without).

extension GRU {
    /// A GRU holding a PyTorch `nn.GRU` state dict (`weight_ih_l0`,
    /// `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `..._reverse`, `..._l1`, ...).
    /// Sizes, layer count, direction and whether there are biases (PyTorch's
    /// `bias`) are read from the tensors; PyTorch's GRU resets after the product.
    ///
    /// - Throws: `missingParameter` naming the first absent tensor,
    ///   `shapeMismatch` for inconsistent shapes.
    public init(pytorchStateDict tensors: [String: Tensor], dropout: Float = 0) throws {
        func tensor(_ name: String) throws -> Tensor {
            guard let value = tensors[name] else {
                throw RecurrentError.missingParameter(name: name, available: Array(tensors.keys))
            }
            return value
        }
        let first = try tensor("weight_ih_l0")
        guard first.shape.rank == 2, first.dimensions[0] % 3 == 0, first.dimensions[0] > 0 else {
            throw RecurrentError.shapeMismatch(name: "weight_ih_l0",
                expected: [.multiple(of: 3, "3 * hidden"), .any("input")], actual: first.dimensions)
        }
        let hidden = first.dimensions[0] / 3
        var layerCount = 1
        while tensors["weight_ih_l\(layerCount)"] != nil { layerCount += 1 }
        let bidirectional = tensors["weight_ih_l0_reverse"] != nil
        let bias = tensors["bias_ih_l0"] != nil
        var weights: [GRUDirectionWeights] = []
        for layer in 0 ..< layerCount {
            for suffix in bidirectional ? ["", "_reverse"] : [""] {
                let name = "_l\(layer)" + suffix
                let zeros = try Tensor(shape: [3 * hidden])
                weights.append(GRUDirectionWeights(
                    inputWeights: try tensor("weight_ih" + name), recurrentWeights: try tensor("weight_hh" + name),
                    inputBias: bias ? try tensor("bias_ih" + name) : zeros,
                    recurrentBias: bias ? try tensor("bias_hh" + name) : zeros))
            }
        }
        try self.init(inputSize: first.dimensions[1], hiddenSize: hidden, layerCount: layerCount,
                      bidirectional: bidirectional, bias: bias, dropout: dropout, weights: weights)
    }

    /// The GRU's parameters as a PyTorch state dict (``namedParameters``), for
    /// `load_state_dict` after reading the file with `safetensors.torch.load_file`.
    ///
    /// - Throws: `invalidArgument` for a GRU that resets before the product
    ///   (PyTorch has no such GRU).
    public func pytorchSafeTensors(metadata: [String: String] = [:]) throws -> SafeTensors {
        guard resetsAfterProduct else {
            throw RecurrentError.invalidArgument(name: "GRU for PyTorch export", expected: "resetAfter: true (nn.GRU's form)",
                                                 actual: "resetAfter: false")
        }
        try validateParameters()
        return try SafeTensors(namedParameters.map { SafeTensors.Entry(name: $0.name, array: NumericArray($0.tensor)) },
                               metadata: metadata)
    }

    /// A one-layer unidirectional GRU holding Keras `GRU` weights: `kernel`
    /// (input, 3 units), `recurrentKernel` (units, 3 units), gate order z, r, h,
    /// and `bias`: (2, 3 units), input then recurrent, for `reset_after=True`
    /// (Keras's default), or (3 units) for `reset_after=False`; the bias's rank
    /// picks the form.
    ///
    /// - Throws: `shapeMismatch` for tensors that do not fit each other.
    public init(kerasKernel kernel: Tensor, recurrentKernel: Tensor, bias: Tensor) throws {
        guard kernel.shape.rank == 2, kernel.dimensions[1] % 3 == 0, kernel.dimensions[1] > 0 else {
            throw RecurrentError.shapeMismatch(name: "Keras kernel",
                expected: [.any("input"), .multiple(of: 3, "3 * units")], actual: kernel.dimensions)
        }
        let (input, units) = (kernel.dimensions[0], kernel.dimensions[1] / 3)
        try RecurrentError.requireShape(recurrentKernel, [units, 3 * units], "Keras recurrent kernel")
        let resetAfter = bias.shape.rank == 2
        try RecurrentError.requireShape(bias, resetAfter ? [2, 3 * units] : [3 * units],
                                        "Keras bias ((2, 3 units) with reset_after, (3 units) without)")
        let biases = bias.scalars
        let weights = GRUDirectionWeights(
            inputWeights: try kernel.transposed2D().swappingGateBlocks(units),
            recurrentWeights: try recurrentKernel.transposed2D().swappingGateBlocks(units),
            inputBias: try Tensor(shape: [3 * units], scalars: Array(biases[0 ..< 3 * units])).swappingGateBlocks(units),
            recurrentBias: resetAfter ? try Tensor(shape: [3 * units], scalars: Array(biases[3 * units ..< 6 * units]))
                .swappingGateBlocks(units) : try Tensor(shape: [3 * units]))
        try self.init(inputSize: input, hiddenSize: units, resetAfter: resetAfter, weights: [weights])
    }

    /// A one-layer GRU from a file holding Keras's `kernel`, `recurrent_kernel`
    /// and `bias` (each name preceded by `prefix`, for example `"gru."`).
    public init(keras file: SafeTensors, prefix: String = "") throws {
        func tensor(_ name: String) throws -> Tensor {
            guard let array = file[prefix + name] else {
                throw RecurrentError.missingParameter(name: prefix + name, available: file.names)
            }
            return try array.tensor()
        }
        try self.init(kerasKernel: tensor("kernel"), recurrentKernel: tensor("recurrent_kernel"), bias: tensor("bias"))
    }

    /// Keras `GRU` weights of a one-layer unidirectional GRU, gate order z, r,
    /// h: the bias is (2, 3 units) when it resets after the product (Keras's
    /// `reset_after=True`), else (3 units), the two biases summed (both add
    /// outside the reset there).
    ///
    /// - Throws: `invalidArgument` for a stacked or bidirectional GRU (Keras
    ///   keeps those as separate layers); what forward throws for weights
    ///   replaced with tensors of other shapes.
    public func kerasWeights() throws -> (kernel: Tensor, recurrentKernel: Tensor, bias: Tensor) {
        guard layerCount == 1, !isBidirectional else {
            throw RecurrentError.invalidArgument(name: "GRU for Keras export", expected: "one unidirectional layer",
                                                 actual: "\(layerCount) layers, \(directionCount) directions")
        }
        try validateParameters()
        let w = layers[0]
        let (h, input) = (hiddenSize, try w.inputBias.swappingGateBlocks(hiddenSize).scalars)
        let recurrent = try w.recurrentBias.swappingGateBlocks(h).scalars
        let bias = resetsAfterProduct ? try Tensor(shape: [2, 3 * h], scalars: input + recurrent)
                                      : try Tensor(shape: [3 * h], scalars: zip(input, recurrent).map(+))
        return (try w.inputWeights.swappingGateBlocks(h).transposed2D(),
                try w.recurrentWeights.swappingGateBlocks(h).transposed2D(), bias)
    }

    /// Keras `GRU` weights as a file: `kernel`, `recurrent_kernel` and `bias`,
    /// each name preceded by `prefix`; read back with ``init(keras:prefix:)``.
    public func kerasSafeTensors(prefix: String = "", metadata: [String: String] = [:]) throws -> SafeTensors {
        let weights = try kerasWeights()
        return try SafeTensors([
            .init(name: prefix + "kernel", array: NumericArray(weights.kernel)),
            .init(name: prefix + "recurrent_kernel", array: NumericArray(weights.recurrentKernel)),
            .init(name: prefix + "bias", array: NumericArray(weights.bias)),
        ], metadata: metadata)
    }
}

extension Tensor {
    /// The first two of three gate blocks of `units` rows (along axis 0)
    /// swapped: PyTorch's r, z, n from Keras's z, r, h, and back.
    func swappingGateBlocks(_ units: Int) throws -> Tensor {
        let rowLength = count / (3 * units)
        var values = scalars
        let block = units * rowLength
        for i in 0 ..< block { values.swapAt(i, block + i) }
        return try Tensor(shape: shape, scalars: values)
    }
}

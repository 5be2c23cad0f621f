import FrameSequencing

// GRU weights from and to PyTorch (`nn.GRU`'s state dict, gate order r, z, n,
// the layout kept here) and Keras (`GRU`'s kernels, transposed, gate order
// z, r, h; its bias (2, 3 units) with reset_after=True or (3 units) without).
// A GRU without biases has no bias_* tensors and no Keras bias.

extension GRU {
    /// A GRU holding a PyTorch `nn.GRU` state dict (`weight_ih_l0`,
    /// `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `..._reverse`, `..._l1`, ...).
    /// Sizes, layer count, direction and whether there are biases (`bias=False`
    /// has no `bias_*`; `bias_ih_l0` decides) are read from the tensors;
    /// PyTorch's GRU resets after the product.
    ///
    /// - Throws: `missingParameter` naming the first absent tensor (a bias of a
    ///   GRU with biases included); `invalidArgument` for a `bias_*` tensor in a
    ///   dict without `bias_ih_l0` (a bias for a GRU without biases);
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
        if !bias, let stray = tensors.keys.filter({ $0.hasPrefix("bias_") }).min() {
            throw RecurrentError.invalidArgument(
                name: stray, expected: "no bias_* tensors (without bias_ih_l0 the GRU has no biases, PyTorch's bias=False)",
                actual: "a tensor of shape \(tensors[stray]!.dimensions); give every bias, or none")
        }
        var weights: [GRUDirectionWeights] = []
        for layer in 0 ..< layerCount {
            for suffix in bidirectional ? ["", "_reverse"] : [""] {
                let name = "_l\(layer)" + suffix
                weights.append(GRUDirectionWeights(
                    inputWeights: try tensor("weight_ih" + name), recurrentWeights: try tensor("weight_hh" + name),
                    inputBias: bias ? try tensor("bias_ih" + name) : try Tensor(shape: [0]),
                    recurrentBias: bias ? try tensor("bias_hh" + name) : try Tensor(shape: [0])))
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
    /// (Keras's default), or (3 units) for `reset_after=False`; `nil` (Keras's
    /// `use_bias=False`) makes a GRU without biases.
    ///
    /// - Parameters:
    ///   - kernel: (input, 3 units), Keras's `kernel`.
    ///   - recurrentKernel: (units, 3 units), Keras's `recurrent_kernel`.
    ///   - bias: (2, 3 units) or (3 units), Keras's `bias`; `nil` for none.
    ///   - resetAfter: Keras's `reset_after`; `nil` reads it from the bias's
    ///     rank, or takes Keras's default (true) without a bias, whose weights
    ///     cannot tell the two forms apart.
    /// - Throws: `shapeMismatch` for tensors that do not fit each other or a
    ///   bias of the other `reset_after` form than `resetAfter` says.
    public init(kerasKernel kernel: Tensor, recurrentKernel: Tensor, bias: Tensor?, resetAfter: Bool? = nil) throws {
        guard kernel.shape.rank == 2, kernel.dimensions[1] % 3 == 0, kernel.dimensions[1] > 0 else {
            throw RecurrentError.shapeMismatch(name: "Keras kernel",
                expected: [.any("input"), .multiple(of: 3, "3 * units")], actual: kernel.dimensions)
        }
        let (input, units) = (kernel.dimensions[0], kernel.dimensions[1] / 3)
        try RecurrentError.requireShape(recurrentKernel, [units, 3 * units], "Keras recurrent kernel")
        let resetAfter = resetAfter ?? (bias.map { $0.shape.rank == 2 } ?? true)
        var inputBias = try Tensor(shape: [0]), recurrentBias = try Tensor(shape: [0])
        if let bias {
            try RecurrentError.requireShape(bias, resetAfter ? [2, 3 * units] : [3 * units],
                                            "Keras bias ((2, 3 units) with reset_after, (3 units) without)")
            let biases = bias.scalars
            inputBias = try Tensor(shape: [3 * units], scalars: Array(biases[0 ..< 3 * units])).swappingGateBlocks(units)
            // Without reset_after Keras's one bias adds outside the reset: it is b_ih + b_hh, kept as b_ih.
            recurrentBias = resetAfter ? try Tensor(shape: [3 * units], scalars: Array(biases[3 * units ..< 6 * units]))
                .swappingGateBlocks(units) : try Tensor(shape: [3 * units])
        }
        let weights = GRUDirectionWeights(
            inputWeights: try kernel.transposed2D().swappingGateBlocks(units),
            recurrentWeights: try recurrentKernel.transposed2D().swappingGateBlocks(units),
            inputBias: inputBias, recurrentBias: recurrentBias)
        try self.init(inputSize: input, hiddenSize: units, bias: bias != nil, resetAfter: resetAfter, weights: [weights])
    }

    /// A one-layer GRU from a file holding Keras's `kernel`, `recurrent_kernel`
    /// and `bias` (each name preceded by `prefix`, for example `"gru."`);
    /// without `bias`, a GRU without biases. `resetAfter` as in
    /// ``init(kerasKernel:recurrentKernel:bias:resetAfter:)``.
    public init(keras file: SafeTensors, prefix: String = "", resetAfter: Bool? = nil) throws {
        func tensor(_ name: String) throws -> Tensor {
            guard let array = file[prefix + name] else {
                throw RecurrentError.missingParameter(name: prefix + name, available: file.names)
            }
            return try array.tensor()
        }
        try self.init(kerasKernel: tensor("kernel"), recurrentKernel: tensor("recurrent_kernel"),
                      bias: file[prefix + "bias"] == nil ? nil : tensor("bias"), resetAfter: resetAfter)
    }

    /// Keras `GRU` weights of a one-layer unidirectional GRU, gate order z, r,
    /// h: the bias is (2, 3 units) when it resets after the product (Keras's
    /// `reset_after=True`), else (3 units), the two biases summed (both add
    /// outside the reset there); `nil` for a GRU without biases.
    ///
    /// - Throws: `invalidArgument` for a stacked or bidirectional GRU (Keras
    ///   keeps those as separate layers); what forward throws for weights
    ///   replaced with tensors of other shapes.
    public func kerasWeights() throws -> (kernel: Tensor, recurrentKernel: Tensor, bias: Tensor?) {
        guard layerCount == 1, !isBidirectional else {
            throw RecurrentError.invalidArgument(name: "GRU for Keras export", expected: "one unidirectional layer",
                                                 actual: "\(layerCount) layers, \(directionCount) directions")
        }
        try validateParameters()
        let (w, h) = (layers[0], hiddenSize)
        var bias: Tensor?
        if hasBias {
            let input = try w.inputBias.swappingGateBlocks(h).scalars
            let recurrent = try w.recurrentBias.swappingGateBlocks(h).scalars
            bias = resetsAfterProduct ? try Tensor(shape: [2, 3 * h], scalars: input + recurrent)
                                      : try Tensor(shape: [3 * h], scalars: zip(input, recurrent).map(+))
        }
        return (try w.inputWeights.swappingGateBlocks(h).transposed2D(),
                try w.recurrentWeights.swappingGateBlocks(h).transposed2D(), bias)
    }

    /// Keras `GRU` weights as a file: `kernel`, `recurrent_kernel` and `bias`
    /// (none without biases), each name preceded by `prefix`; read back with
    /// ``init(keras:prefix:resetAfter:)`` (a file without a bias does not say
    /// which `reset_after` form it is: pass it).
    public func kerasSafeTensors(prefix: String = "", metadata: [String: String] = [:]) throws -> SafeTensors {
        let weights = try kerasWeights()
        return try SafeTensors([
            .init(name: prefix + "kernel", array: NumericArray(weights.kernel)),
            .init(name: prefix + "recurrent_kernel", array: NumericArray(weights.recurrentKernel)),
        ] + (weights.bias.map { [.init(name: prefix + "bias", array: NumericArray($0))] } ?? []), metadata: metadata)
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

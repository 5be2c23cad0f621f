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

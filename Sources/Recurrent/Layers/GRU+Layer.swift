import FrameSequencing

/// As a ``Layer``, a GRU reads (B, T, I) batch-major from a zero initial state
/// and returns every timestep, (B, T, D * H), or with ``returnSequences`` false
/// the last valid one, (B, D * H); the context's lengths or mask mark padded steps and
/// its seed draws the dropout masks between layers.
extension GRU: Layer {
    /// (B, T, I) to (B, T, D * H), or (B, D * H) without ``returnSequences``.
    ///
    /// - Throws: `shapeMismatch` unless the input has rank 3 and I features.
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        guard dimensions.count == 3, dimensions[2] == inputSize else {
            throw RecurrentError.shapeMismatch(name: "GRU input", expected: [.any("batch"), .any("timesteps"), .size(inputSize)],
                                               actual: dimensions)
        }
        return returnSequences ? [dimensions[0], dimensions[1], outputSize] : [dimensions[0], outputSize]
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        try run(input, initialHidden: nil, lengths: context.lengths, mask: context.mask, layout: .batchMajor,
                returnSequences: returnSequences, training: false, dropoutSeed: 0).result.output
    }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: GRUCache) {
        let (result, cache) = try run(input, initialHidden: nil, lengths: context.lengths, mask: context.mask,
                                      layout: .batchMajor, returnSequences: returnSequences, training: true,
                                      dropoutSeed: context.dropoutSeed)
        return (result.output, cache!)
    }
}

extension GRU: Trainable {
    public mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows {
        let perEntry = hasBias ? 4 : 2
        for index in layers.indices {
            try body(perEntry * index, &layers[index].inputWeights)
            try body(perEntry * index + 1, &layers[index].recurrentWeights)
            if hasBias {
                try body(perEntry * index + 2, &layers[index].inputBias)
                try body(perEntry * index + 3, &layers[index].recurrentBias)
            }
        }
    }

    /// Zero gradients of every direction's weights, in their current shapes.
    public func zeroGradients() -> GRUGradients {
        GRUGradients(layers: layers.map {
            GRUDirectionWeights(inputWeights: Tensor(zerosLike: $0.inputWeights), recurrentWeights: Tensor(zerosLike: $0.recurrentWeights),
                                inputBias: Tensor(zerosLike: $0.inputBias), recurrentBias: Tensor(zerosLike: $0.recurrentBias))
        })
    }
}

extension GRUGradients: GradientSet {
    /// Every gradient in the GRU's ``GRU/namedParameters`` order.
    public var tensors: [Tensor] {
        // Empty biases are those of a GRU without biases: not parameters.
        layers.flatMap { [$0.inputWeights, $0.recurrentWeights] + ($0.inputBias.count > 0 ? [$0.inputBias, $0.recurrentBias] : []) }
    }
}

extension GRU: RecurrentLayer {
    /// The state is h alone, (L*D, B, H).
    public func forward(_ input: Tensor, from state: Tensor?, returnSequences: Bool, context: LayerContext) throws
        -> (output: Tensor, finalState: Tensor) {
        let result = try run(input, initialHidden: state, lengths: context.lengths, mask: context.mask, layout: .batchMajor,
                             returnSequences: returnSequences, training: false, dropoutSeed: 0).result
        return (result.output, result.finalHidden)
    }

    public func trainingForward(_ input: Tensor, from state: Tensor?, returnSequences: Bool, context: LayerContext) throws
        -> (output: Tensor, finalState: Tensor, cache: GRUCache) {
        let (result, cache) = try run(input, initialHidden: state, lengths: context.lengths, mask: context.mask,
                                      layout: .batchMajor, returnSequences: returnSequences, training: true,
                                      dropoutSeed: context.dropoutSeed)
        return (result.output, result.finalHidden, cache!)
    }

    public func backward(outputGradient: Tensor, finalStateGradient: Tensor?, cache: GRUCache,
                         into gradients: inout GRUGradients) throws -> (input: Tensor, initialState: Tensor) {
        let result = try backward(outputGradient: outputGradient, finalHiddenGradient: finalStateGradient, cache: cache,
                                  into: &gradients)
        return (result.input, result.initialHidden)
    }

    public var inputFeatures: Int { inputSize }

    /// Zeros (B, timesteps, I), B the state's batch.
    public func zeroInput(timesteps: Int, after state: Tensor) throws -> Tensor {
        guard state.shape.rank == 3 else {
            throw RecurrentError.shapeMismatch(name: "GRU state (layers * directions, batch, hidden)",
                                               expected: [.any("layers * directions"), .any("batch"), .size(hiddenSize)],
                                               actual: state.dimensions)
        }
        return try Tensor(shape: Shape([state.dimensions[1], timesteps, inputSize], names: ["batch", "timesteps", "features"]))
    }
}

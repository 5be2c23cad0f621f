import FrameSequencing

/// As a ``Layer``, an LSTM reads (B, T, I) batch-major from zero initial states
/// and returns every timestep, (B, T, D * H), or with ``returnSequences`` false
/// the last valid one, (B, D * H); the context's lengths or mask mark padded steps and
/// its seed draws the dropout masks between layers. States, layouts and
/// the last step alone are what ``forward(_:initialState:lengths:layout:returnSequences:)``
/// and its training and backward twins take.
extension LSTM {
    /// This LSTM with ``returnSequences`` set to `sequences`.
    func returning(sequences: Bool) -> LSTM {
        var copy = self
        copy.returnSequences = sequences
        return copy
    }
}

extension LSTM: Layer {
    /// (B, T, I) to (B, T, D * H), or (B, D * H) without ``returnSequences``.
    ///
    /// - Throws: `shapeMismatch` unless the input has rank 3 and I features.
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        guard dimensions.count == 3, dimensions[2] == inputSize else {
            throw RecurrentError.shapeMismatch(name: "LSTM input", expected: [.any("batch"), .any("timesteps"), .size(inputSize)],
                                               actual: dimensions)
        }
        return returnSequences ? [dimensions[0], dimensions[1], outputSize] : [dimensions[0], outputSize]
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        try run(input, initialState: nil, lengths: context.lengths, mask: context.mask, layout: .batchMajor,
                returnSequences: returnSequences, training: false, dropoutSeed: 0).result.output
    }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: LSTMCache) {
        let (result, cache) = try run(input, initialState: nil, lengths: context.lengths, mask: context.mask,
                                      layout: .batchMajor, returnSequences: returnSequences, training: true,
                                      dropoutSeed: context.dropoutSeed)
        return (result.output, cache!)
    }

    /// dL/dinput (B, T, I); no gradient reaches the final state.
    public func backward(outputGradient: Tensor, cache: LSTMCache, into gradients: inout LSTMGradients) throws -> Tensor {
        try backward(outputGradient: outputGradient, finalStateGradient: nil, cache: cache, into: &gradients).input
    }
}

extension LSTM: Trainable {
    public mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows {
        var position = 0
        let keyPaths = LSTMDirectionWeights.parameterKeyPaths(bias: hasBias, projection: projectionSize > 0)
        for index in layers.indices {
            for (keyPath, _) in keyPaths {
                try body(position, &layers[index][keyPath: keyPath])
                position += 1
            }
        }
    }

    /// Zero gradients of every direction's weights, in their current shapes.
    public func zeroGradients() -> LSTMGradients {
        LSTMGradients(layers: layers.map {
            LSTMDirectionWeights(inputWeights: Tensor(zerosLike: $0.inputWeights), recurrentWeights: Tensor(zerosLike: $0.recurrentWeights),
                                 inputBias: Tensor(zerosLike: $0.inputBias), recurrentBias: Tensor(zerosLike: $0.recurrentBias),
                                 projectionWeights: $0.projectionWeights.map { Tensor(zerosLike: $0) })
        })
    }
}

extension LSTMGradients: GradientSet {
    public var tensors: [Tensor] {
        // Empty biases are those of an LSTM without biases: not parameters.
        layers.flatMap {
            [$0.inputWeights, $0.recurrentWeights] + ($0.inputBias.count > 0 ? [$0.inputBias, $0.recurrentBias] : [])
                + ($0.projectionWeights.map { [$0] } ?? [])
        }
    }
}

extension LSTM: RecurrentLayer {
    public func forward(_ input: Tensor, from state: LSTMState?, returnSequences: Bool, context: LayerContext) throws
        -> (output: Tensor, finalState: LSTMState) {
        let result = try run(input, initialState: state, lengths: context.lengths, mask: context.mask, layout: .batchMajor,
                             returnSequences: returnSequences, training: false, dropoutSeed: 0).result
        return (result.output, result.finalState)
    }

    public func trainingForward(_ input: Tensor, from state: LSTMState?, returnSequences: Bool, context: LayerContext) throws
        -> (output: Tensor, finalState: LSTMState, cache: LSTMCache) {
        let (result, cache) = try run(input, initialState: state, lengths: context.lengths, mask: context.mask,
                                      layout: .batchMajor, returnSequences: returnSequences, training: true,
                                      dropoutSeed: context.dropoutSeed)
        return (result.output, result.finalState, cache!)
    }

    public var inputFeatures: Int { inputSize }

    /// Zeros (B, timesteps, I), B the state's batch.
    public func zeroInput(timesteps: Int, after state: LSTMState) throws -> Tensor {
        guard state.hidden.shape.rank == 3 else {
            throw RecurrentError.shapeMismatch(name: "LSTM state (layers * directions, batch, hidden)",
                                               expected: [.any("layers * directions"), .any("batch"), .size(hiddenSize)],
                                               actual: state.hidden.dimensions)
        }
        return try Tensor(shape: Shape([state.hidden.dimensions[1], timesteps, inputSize], names: ["batch", "timesteps", "features"]))
    }
}

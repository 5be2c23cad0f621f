import FrameSequencing

/// As a ``Layer``, the forecaster reads (B, T, H, W, C) from a zero LSTM state
/// and returns every step's next-frame prediction (B, T, H, W, C). Padded
/// batches are not supported: the context's lengths must be nil or all full.
extension CNNLSTMForecaster: Layer {
    /// (B, T, H, W, C) to the decoder's frames (B, T, H', W', C').
    ///
    /// - Throws: the error of the first part that cannot take its input.
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        try decoder.outputDimensions(forInput: try lstm.outputDimensions(forInput: try encoder.outputDimensions(forInput: dimensions)))
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        try Self.requireFull(context.lengths, input)
        return try forward(input).frames
    }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        try Self.requireFull(context.lengths, input)
        return try trainingForward(input, dropoutSeed: context.dropoutSeed)
    }

    private static func requireFull(_ lengths: [Int]?, _ inputs: Tensor) throws {
        guard let lengths, inputs.shape.rank >= 2 else { return }
        let steps = inputs.dimensions[1]
        if let short = lengths.firstIndex(where: { $0 != steps }) {
            throw RecurrentError.invalidArgument(name: "CNNLSTMForecaster lengths", expected: "full sequences of \(steps) steps",
                                                 actual: "length \(lengths[short]) at batch entry \(short)")
        }
    }
}

extension CNNLSTMForecaster: Trainable {
    /// `encoder.*`, `lstm.*` (PyTorch's names) and `decoder.*`.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        prefixed("encoder", encoder.namedParameters) + prefixed("lstm", lstm.namedParameters)
            + prefixed("decoder", decoder.namedParameters)
    }

    public mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows {
        let (first, second) = (encoder.parameterCount, encoder.parameterCount + lstm.parameterCount)
        try encoder.visitParameters(body)
        try lstm.visitParameters { try body(first + $0, &$1) }
        try decoder.visitParameters { try body(second + $0, &$1) }
    }
}

extension CNNLSTMForecaster.Gradients: GradientSet {
    public var tensors: [Tensor] { encoder.tensors + lstm.tensors + decoder.tensors }
}

import FrameSequencing

/// As a ``Layer``, a CNN-LSTM reads (B, T, H, W, C) and returns (B, outputs),
/// or (B, T, outputs) with ``returnSequences``; the context's lengths mark
/// padded steps and its seed draws the LSTM's dropout masks between layers.
extension CNNLSTM: Layer {
    /// (B, T, H, W, C) to (B, outputs), or (B, T, outputs) with ``returnSequences``.
    ///
    /// - Throws: the error of the first part that cannot take its input.
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        let perStep = try lstm.outputDimensions(forInput: try features.outputDimensions(forInput: dimensions))
        return try head.outputDimensions(forInput: returnSequences ? perStep : [perStep[0], perStep[2]])
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        try forward(input, lengths: context.lengths)
    }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        try trainingForward(input, lengths: context.lengths, dropoutSeed: context.dropoutSeed)
    }
}

extension CNNLSTM: Trainable {
    /// `features.*`, `lstm.*` (PyTorch's names) and `head.*`.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        prefixed("features", features.namedParameters) + prefixed("lstm", lstm.namedParameters)
            + prefixed("head", head.namedParameters)
    }

    public mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows {
        let (first, second) = (features.parameterCount, features.parameterCount + lstm.parameterCount)
        try features.visitParameters(body)
        try lstm.visitParameters { try body(first + $0, &$1) }
        try head.visitParameters { try body(second + $0, &$1) }
    }
}

extension CNNLSTM.Gradients: GradientSet {
    public var tensors: [Tensor] { features.tensors + lstm.tensors + head.tensors }
}

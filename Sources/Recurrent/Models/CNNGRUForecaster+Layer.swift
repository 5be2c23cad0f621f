import FrameSequencing

/// As a ``Layer``, the forecaster reads (B, T, H, W, C) from a zero GRU state
/// and returns every step's next-frame prediction (B, T, H, W, C). Padded
/// batches are not supported: the context's lengths must be nil or all full.
extension CNNGRUForecaster {
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
            throw RecurrentError.invalidArgument(name: "CNNGRUForecaster lengths", expected: "full sequences of \(steps) steps",
                                                 actual: "length \(lengths[short]) at batch entry \(short)")
        }
    }
}

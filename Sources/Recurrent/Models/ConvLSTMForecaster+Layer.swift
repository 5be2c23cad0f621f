import FrameSequencing

/// As a ``Layer``, the forecaster reads (B, T, H, W, C) and returns the next
/// ``horizon`` frames (B, k, H', W', C); train it on windows whose target is the
/// next `k` frames (`.nextFrames(count: k)`, or `.frameAfter` for k = 1).
/// Padded batches are not supported: the context's lengths must be nil.
extension ConvLSTMForecaster {
    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        try Self.requireUnpadded(context.lengths)
        try validateParts()
        return try body.forward(input, context: context)
    }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        try Self.requireUnpadded(context.lengths)
        try validateParts()
        return try body.trainingForward(input, context: context)
    }

    private static func requireUnpadded(_ lengths: [Int]?) throws {
        guard lengths == nil else {
            throw RecurrentError.invalidArgument(name: "ConvLSTMForecaster lengths", expected: "full sequences (no lengths)",
                                                 actual: "\(lengths!.count) lengths")
        }
    }
}

import FrameSequencing

extension Flatten: Layer {
    public typealias Gradients = NoGradients

    /// (B, ...) to (B, features).
    ///
    /// - Throws: `shapeMismatch` for rank 0.
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        guard let batch = dimensions.first else {
            throw RecurrentError.shapeMismatch(name: "Flatten input (batch, ...)", expected: [.any("batch"), .any("...")], actual: [])
        }
        return [batch, dimensions.dropFirst().reduce(1, *)]
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor { try forward(input) }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        try trainingForward(input)
    }

    /// ``backward(outputGradient:cache:)``; flattening has no parameters.
    public func backward(outputGradient: Tensor, cache: Cache, into gradients: inout NoGradients) throws -> Tensor {
        try backward(outputGradient: outputGradient, cache: cache)
    }
}

import FrameSequencing

extension MaxPool2D: Layer {
    public typealias Gradients = NoGradients

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor { try forward(input) }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        try trainingForward(input)
    }

    /// ``backward(outputGradient:cache:)``; a pooling has no parameters.
    public func backward(outputGradient: Tensor, cache: Cache, into gradients: inout NoGradients) throws -> Tensor {
        try backward(outputGradient: outputGradient, cache: cache)
    }
}

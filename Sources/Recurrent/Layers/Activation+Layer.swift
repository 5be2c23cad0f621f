import FrameSequencing

/// An activation as a layer of its own (Keras's `Activation`): the same shape,
/// the function applied to every value.
extension Activation: Layer {
    public typealias Gradients = NoGradients
    /// The output, from which the derivative is computed.
    public typealias Cache = Tensor

    public func outputDimensions(forInput dimensions: [Int]) -> [Int] { dimensions }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor { applied(self, input) }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Tensor) {
        let output = applied(self, input)
        return (output, output)
    }

    public func backward(outputGradient: Tensor, cache: Tensor, into gradients: inout NoGradients) throws -> Tensor {
        try activationGradient(self, output: cache, gradient: outputGradient)
    }
}

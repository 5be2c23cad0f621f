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

/// `activation` applied to every value of `x`.
func applied(_ activation: Activation, _ x: Tensor) -> Tensor {
    var y = x
    y.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count) }
    return y
}

/// dL/dinput from the output and dL/doutput.
func activationGradient(_ activation: Activation, output: Tensor, gradient: Tensor) throws -> Tensor {
    try RecurrentError.requireShape(gradient, output.dimensions, "Activation output gradient")
    var delta = gradient
    delta.withUnsafeMutableBufferPointer { d in
        output.withUnsafeBufferPointer { activation.backward(output: $0.baseAddress!, gradient: d.baseAddress!, count: d.count) }
    }
    return delta
}

import FrameSequencing

/// The protocol ``Trainer`` fitted models through before ``Layer``: every
/// model is a layer now, with ``Layer``'s verbs (`forward`, `trainingForward`,
/// `backward`). Removed in 0.3.0.
@available(*, deprecated, renamed: "Layer")
public typealias SupervisedModel = Layer

extension Layer {
    /// ``Layer/trainingForward(_:context:)`` with the lengths in a context.
    @available(*, deprecated, message: "use trainingForward(_:context: LayerContext(lengths:))")
    public func trainingPrediction(_ inputs: Tensor, lengths: [Int]?) throws -> (output: Tensor, cache: Cache) {
        try trainingForward(inputs, context: LayerContext(lengths: lengths))
    }

    /// ``Layer/backward(outputGradient:cache:into:)`` without its input gradient.
    @available(*, deprecated, renamed: "backward(outputGradient:cache:into:)")
    public func backpropagate(_ outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws {
        _ = try backward(outputGradient: outputGradient, cache: cache, into: &gradients)
    }

    /// ``Layer/forward(_:context:)`` with the lengths in a context.
    @available(*, deprecated, message: "use forward(_:context: LayerContext(lengths:))")
    public func prediction(_ inputs: Tensor, lengths: [Int]?) throws -> Tensor {
        try forward(inputs, context: LayerContext(lengths: lengths))
    }
}

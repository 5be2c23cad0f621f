import FrameSequencing

extension Conv2DTranspose: Layer {
    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor { try forward(input) }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        try trainingForward(input)
    }
}

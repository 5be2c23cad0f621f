import FrameSequencing

extension TimeDistributed: Layer {
    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor { try forward(input) }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        try trainingForward(input)
    }
}

extension TimeDistributed: Trainable {
    public var namedParameters: [(name: String, tensor: Tensor)] { model.namedParameters }

    public mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows {
        try model.visitParameters(body)
    }
}

import FrameSequencing

extension Conv2DTranspose: Layer {
    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor { try forward(input) }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        try trainingForward(input)
    }
}

extension Conv2DTranspose: Trainable {
    public var namedParameters: [(name: String, tensor: Tensor)] {
        [("kernel", kernel)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows {
        try body(0, &kernel)
        if bias != nil { try body(1, &bias!) }
    }
}

extension Conv2DTranspose.Gradients: GradientSet {
    public var tensors: [Tensor] { [kernel] + (bias.map { [$0] } ?? []) }
}

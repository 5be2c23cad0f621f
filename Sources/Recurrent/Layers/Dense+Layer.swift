import FrameSequencing

extension Dense: Layer {
    /// (..., I) to (..., O).
    ///
    /// - Throws: `shapeMismatch` unless the input has rank 2 or more and I features.
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        guard dimensions.count >= 2, dimensions.last == inputSize else {
            throw RecurrentError.shapeMismatch(name: "Dense input", expected: [.any("batch..."), .size(inputSize)], actual: dimensions)
        }
        return dimensions.dropLast() + [outputSize]
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor { try forward(input) }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        try trainingForward(input)
    }
}

extension Dense: Trainable {
    public var namedParameters: [(name: String, tensor: Tensor)] { [("weight", weight), ("bias", bias)] }

    public mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows {
        try body(0, &weight)
        try body(1, &bias)
    }
}

extension Dense.Gradients: GradientSet {
    public var tensors: [Tensor] { [weight, bias] }
}

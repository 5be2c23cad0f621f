import FrameSequencing

extension ConvLSTMForecaster: Trainable {
    /// `embedding.*` (when there is one), `encoder.<i>.*`, `forecaster.<i>.*` and `head.*`.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        (embedding.map { prefixed("embedding", $0.namedParameters) } ?? [])
            + encoder.enumerated().flatMap { prefixed("encoder.\($0)", $1.namedParameters) }
            + forecaster.enumerated().flatMap { prefixed("forecaster.\($0)", $1.namedParameters) }
            + prefixed("head", head.namedParameters)
    }

    public mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows {
        var offset = 0
        if var layer = embedding {
            embedding = nil                                      // releases the layer's reference: updates in place
            defer { embedding = layer }
            try layer.visitParameters(body)
            offset += layer.parameterCount
        }
        for index in encoder.indices {
            let count = encoder[index].parameterCount
            try encoder[index].visitParameters { try body(offset + $0, &$1) }
            offset += count
        }
        for index in forecaster.indices {
            let count = forecaster[index].parameterCount
            try forecaster[index].visitParameters { try body(offset + $0, &$1) }
            offset += count
        }
        try head.visitParameters { try body(offset + $0, &$1) }
    }
}

extension ConvLSTMForecaster.Gradients: GradientSet {
    public var tensors: [Tensor] {
        (embedding?.tensors ?? []) + encoder.flatMap(\.tensors) + forecaster.flatMap(\.tensors) + head.tensors
    }
}

/// As a ``Layer``, the forecaster reads (B, T, H, W, C) and returns the next
/// ``horizon`` frames (B, k, H', W', C); train it on windows whose target is the
/// next `k` frames (`.nextFrames(count: k)`, or `.frameAfter` for k = 1).
/// Padded batches are not supported: the context's lengths must be nil.
extension ConvLSTMForecaster: Layer {
    /// (B, T, H, W, C) to (B, ``horizon``, H', W', C), H' x W' the state grid.
    ///
    /// - Throws: the error of the first part that cannot take its input, or of
    ///   parts that no longer fit together.
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        try validateParts()
        var current = dimensions
        if let embedding {
            guard dimensions.count == 5 else {
                throw RecurrentError.shapeMismatch(name: "ConvLSTMForecaster input",
                    expected: [.any("batch"), .any("timesteps"), .any("height"), .any("width"), .size(embedding.inputChannels)],
                    actual: dimensions)
            }
            let perFrame = try embedding.outputDimensions(forInput: [dimensions[0] * dimensions[1]] + dimensions.dropFirst(2))
            current = Array(dimensions.prefix(2)) + perFrame.dropFirst()
        }
        for layer in encoder { current = try layer.outputDimensions(forInput: current) }
        var steps = [current[0], horizon, current[2], current[3], forecaster[0].inputChannels]
        for layer in forecaster { steps = try layer.outputDimensions(forInput: steps) }
        let frames = try head.outputDimensions(forInput: [steps[0] * horizon, steps[2], steps[3], head.inputChannels])
        return [steps[0], horizon] + frames.dropFirst()
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        try Self.requireUnpadded(context.lengths)
        return try forward(input)
    }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        try Self.requireUnpadded(context.lengths)
        return try trainingForward(input)
    }

    private static func requireUnpadded(_ lengths: [Int]?) throws {
        guard lengths == nil else {
            throw RecurrentError.invalidArgument(name: "ConvLSTMForecaster lengths", expected: "full sequences (no lengths)",
                                                 actual: "\(lengths!.count) lengths")
        }
    }
}

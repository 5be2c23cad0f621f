import FrameSequencing

// ConvLSTM2D and ConvLSTMForecaster in the training toolkit: parameters by
// name, fitting with a Trainer, and next-frame forecasting.

extension ConvLSTM2D: Trainable {
    /// `kernel`, `recurrent_kernel`, `bias` (Keras's names), then
    /// `peephole_input`, `peephole_forget`, `peephole_output` when present.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        var result: [(name: String, tensor: Tensor)] = [("kernel", kernel), ("recurrent_kernel", recurrentKernel), ("bias", bias)]
        if let peepholes {
            result += [("peephole_input", peepholes.input), ("peephole_forget", peepholes.forget),
                       ("peephole_output", peepholes.output)]
        }
        return result
    }

    public mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows {
        try body(0, &kernel)
        try body(1, &recurrentKernel)
        try body(2, &bias)
        if peepholes != nil {
            try body(3, &peepholes!.input)
            try body(4, &peepholes!.forget)
            try body(5, &peepholes!.output)
        }
    }
}

extension ConvLSTM2D.Gradients: GradientSet {
    public var tensors: [Tensor] {
        [kernel, recurrentKernel, bias] + (peepholes.map { [$0.input, $0.forget, $0.output] } ?? [])
    }
}

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

extension ConvLSTMForecaster: SupervisedModel {
    /// The next ``horizon`` frames (B, k, H, W, C); train it on windows whose
    /// target is the next `k` frames (`.nextFrames(count: k)`, or `.frameAfter`
    /// for k = 1). Padded batches are not supported (`lengths` must be nil).
    public func trainingPrediction(_ inputs: Tensor, lengths: [Int]?) throws -> (output: Tensor, cache: Cache) {
        try Self.requireUnpadded(lengths)
        return try trainingForward(inputs)
    }

    public func backpropagate(_ outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws {
        _ = try backward(outputGradient: outputGradient, cache: cache, into: &gradients)
    }

    public func prediction(_ inputs: Tensor, lengths: [Int]?) throws -> Tensor {
        try Self.requireUnpadded(lengths)
        return try forward(inputs)
    }

    private static func requireUnpadded(_ lengths: [Int]?) throws {
        guard lengths == nil else {
            throw RecurrentError.invalidArgument(name: "ConvLSTMForecaster lengths", expected: "full sequences (no lengths)",
                                                 actual: "\(lengths!.count) lengths")
        }
    }
}

extension ConvLSTMForecaster: NextFrameForecaster {
    /// Each encoder layer's (h, c); nil before the first frame (zeros).
    public func initialForecastState(batch: Int) throws -> [ConvLSTMState]? { nil }

    /// Reads `frame` into the encoder and predicts the next frame: the first of
    /// the ``horizon`` frames the forecaster produces from the encoder's states.
    public func forecastStep(_ frame: Tensor, state: [ConvLSTMState]?) throws
        -> (prediction: Tensor, state: [ConvLSTMState]?) {
        guard frame.shape.rank == 4 else {
            throw RecurrentError.shapeMismatch(name: "Frame (batch, height, width, channels)",
                expected: [.any("batch"), .any("height"), .any("width"), .any("channels")],
                                               actual: frame.dimensions)
        }
        let states = try encode(try frame.reshaped(to: Shape([frame.dimensions[0], 1] + frame.dimensions.dropFirst())),
                                from: state)
        let frames = try forecast(from: states)
        return (try timestep(frames, 0), states)
    }
}

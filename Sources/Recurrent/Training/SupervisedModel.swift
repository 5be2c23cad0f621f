import FrameSequencing

/// A model a ``Trainer`` can fit on window batches: a prediction for a batch's
/// inputs that keeps what backward needs, and backward into its gradients.
///
/// The package's models conform: ``CNNLSTM`` (its input (B, T, ...) through
/// ``TimeDistributed``; with features `[.flatten]` it is an FC-LSTM on
/// flattened frames), ``CNNLSTMForecaster``. A model of your own conforms by
/// implementing these three requirements.
public protocol SupervisedModel: Trainable {
    /// What ``trainingPrediction(_:lengths:)`` keeps for backward.
    associatedtype PredictionCache: Sendable

    /// The prediction for `inputs` (a batch's inputs), keeping what backward needs.
    ///
    /// - Parameters:
    ///   - inputs: a batch's inputs, in the layout the model reads.
    ///   - lengths: valid timesteps per sequence when the batch is padded.
    func trainingPrediction(_ inputs: Tensor, lengths: [Int]?) throws -> (output: Tensor, cache: PredictionCache)

    /// Backward of `L = sum(output * outputGradient)` into `gradients`.
    func backpropagate(_ outputGradient: Tensor, cache: PredictionCache, into gradients: inout Gradients) throws

    /// The prediction for `inputs`, for inference.
    func prediction(_ inputs: Tensor, lengths: [Int]?) throws -> Tensor
}

extension CNNLSTM: SupervisedModel {
    public func trainingPrediction(_ inputs: Tensor, lengths: [Int]?) throws -> (output: Tensor, cache: Cache) {
        try trainingForward(inputs, lengths: lengths)
    }

    public func backpropagate(_ outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws {
        _ = try backward(outputGradient: outputGradient, cache: cache, into: &gradients)
    }

    public func prediction(_ inputs: Tensor, lengths: [Int]?) throws -> Tensor {
        try forward(inputs, lengths: lengths)
    }
}

extension CNNLSTMForecaster: SupervisedModel {
    /// Every step's next-frame prediction (B, T, H, W, C); padded batches are not
    /// supported (`lengths` must be nil or all full).
    public func trainingPrediction(_ inputs: Tensor, lengths: [Int]?) throws -> (output: Tensor, cache: Cache) {
        try Self.requireFull(lengths, inputs)
        return try trainingForward(inputs)
    }

    public func backpropagate(_ outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws {
        _ = try backward(outputGradient: outputGradient, cache: cache, into: &gradients)
    }

    public func prediction(_ inputs: Tensor, lengths: [Int]?) throws -> Tensor {
        try Self.requireFull(lengths, inputs)
        return try forward(inputs).frames
    }

    private static func requireFull(_ lengths: [Int]?, _ inputs: Tensor) throws {
        guard let lengths, inputs.shape.rank >= 2 else { return }
        let steps = inputs.dimensions[1]
        if let short = lengths.firstIndex(where: { $0 != steps }) {
            throw RecurrentError.invalidArgument(name: "CNNLSTMForecaster lengths", expected: "full sequences of \(steps) steps",
                                                 actual: "length \(lengths[short]) at batch entry \(short)")
        }
    }
}

import FrameSequencing

/// A CNN that reads each frame, an LSTM over the per-frame features, and a
/// ``Dense`` head: sequence regression, or classification with the head's
/// outputs as logits. Keras's `TimeDistributed(Conv2D) ... LSTM, Dense`.
///
/// ```swift
/// let model = try CNNLSTM(frameHeight: 64, frameWidth: 64, channels: 1, filters: [32, 64],
///                         hiddenSize: 64, outputs: 1, seed: 2)
/// let (prediction, cache) = try model.trainingForward(frames)       // (B, 1)
/// var gradients = model.zeroGradients()
/// let dFrames = try model.backward(outputGradient: dPrediction, cache: cache, into: &gradients)
/// ```
public struct CNNLSTM: Sendable {
    /// The per-frame feature extractor; its output per frame is flat (ends with
    /// ``Flatten`` or ``Dense``) with `lstm.inputSize` features.
    public var features: TimeDistributed
    /// The recurrence over the features.
    public var lstm: LSTM
    /// Maps the LSTM's output to the prediction.
    public var head: Dense
    /// Whether the head reads every timestep (output (B, T, outputs)) or only the
    /// last valid one (output (B, outputs)).
    public var returnSequences: Bool

    /// A model of the given parts.
    ///
    /// - Throws: `shapeMismatch` when the head does not take the LSTM's output size.
    public init(features: TimeDistributed, lstm: LSTM, head: Dense, returnSequences: Bool = false) throws {
        guard head.inputSize == lstm.outputSize else {
            throw RecurrentError.shapeMismatch(name: "CNNLSTM head input", expected: [.size(lstm.outputSize)], actual: [head.inputSize])
        }
        self.features = features
        self.lstm = lstm
        self.head = head
        self.returnSequences = returnSequences
    }

    /// The CNN-LSTM of the literature, with Keras's defaults: per entry of
    /// `filters`, a `kernelSize` Conv2D (padding valid, `activation`) and a 2 x 2
    /// max pooling; then Flatten, an LSTM of `hiddenSize` units and a Dense of
    /// `outputs` with `outputActivation`. Weights are seeded (Glorot-uniform
    /// convolutions and head, PyTorch's LSTM initialization).
    ///
    /// - Throws: `invalidArgument` for sizes below 1 or frames too small for the stack.
    public init(frameHeight: Int, frameWidth: Int, channels: Int, filters: [Int], kernelSize: (height: Int, width: Int) = (3, 3),
                activation: Activation = .relu, hiddenSize: Int, outputs: Int, outputActivation: Activation = .linear,
                returnSequences: Bool = false, seed: UInt64 = 0) throws {
        var layers: [any Layer] = []
        var inputChannels = channels
        for (index, count) in filters.enumerated() {
            layers.append(.conv2D(try Conv2D(inputChannels: inputChannels, filters: count, kernelSize: kernelSize,
                                             activation: activation, seed: seed &+ UInt64(index))))
            layers.append(.maxPool2D(try MaxPool2D(poolSize: (2, 2))))
            inputChannels = count
        }
        layers.append(.flatten)
        let features = TimeDistributed(try Sequential(layers))
        let perFrame = try features.outputDimensions(forInput: [1, 1, frameHeight, frameWidth, channels])
        let lstm = try LSTM(inputSize: perFrame[2], hiddenSize: hiddenSize, seed: seed &+ 100)
        let head = try Dense(inputSize: hiddenSize, outputSize: outputs, activation: outputActivation, seed: seed &+ 200)
        try self.init(features: features, lstm: lstm, head: head, returnSequences: returnSequences)
    }

    /// What backward needs from a training forward pass.
    public struct Cache: Sendable {
        let features: TimeDistributed.Cache
        let lstm: LSTMCache
        let head: Dense.Cache
    }

    /// The parameter gradients of every part.
    public struct Gradients: Sendable, Equatable {
        public var features: Sequential.Gradients
        public var lstm: LSTMGradients
        public var head: Dense.Gradients
        /// Sets every gradient to zero.
        public mutating func zero() {
            features.zero()
            lstm.zero()
            head.zero()
        }
    }

    /// Zero gradients of every part.
    public func zeroGradients() -> Gradients {
        Gradients(features: features.zeroGradients(), lstm: lstm.zeroGradients(), head: head.zeroGradients())
    }

    /// The prediction for `frames` (B, T, H, W, C): (B, outputs), or (B, T,
    /// outputs) with ``returnSequences``.
    ///
    /// - Parameters:
    ///   - frames: (B, T, H, W, C).
    ///   - lengths: valid timesteps per sequence for padded batches, as
    ///     ``LSTM/forward(_:initialState:lengths:layout:returnSequences:)`` takes them.
    public func forward(_ frames: Tensor, lengths: [Int]? = nil) throws -> Tensor {
        let x = try features.forward(frames)
        let h = try lstm.forward(x, lengths: lengths, returnSequences: returnSequences).output
        return try head.forward(h)
    }

    /// ``forward(_:lengths:)`` keeping what backward needs; `dropoutSeed` draws
    /// the LSTM's dropout masks between layers.
    public func trainingForward(_ frames: Tensor, lengths: [Int]? = nil, dropoutSeed: UInt64 = 0) throws -> (output: Tensor, cache: Cache) {
        let (x, featureCache) = try features.trainingForward(frames)
        let (h, lstmCache) = try lstm.trainingForward(x, lengths: lengths, returnSequences: returnSequences, dropoutSeed: dropoutSeed)
        let (y, headCache) = try head.trainingForward(h.output)
        return (y, Cache(features: featureCache, lstm: lstmCache, head: headCache))
    }

    /// Backward of `L = sum(output * outputGradient)`: accumulates every
    /// parameter's gradient into `gradients` and returns dL/dframes.
    public func backward(outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws -> Tensor {
        let dh = try head.backward(outputGradient: outputGradient, cache: cache.head, into: &gradients.head)
        let dx = try lstm.backward(outputGradient: dh, finalStateGradient: nil, cache: cache.lstm, into: &gradients.lstm).input
        return try features.backward(outputGradient: dx, cache: cache.features, into: &gradients.features)
    }
}

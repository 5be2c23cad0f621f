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
public struct CNNLSTM: Composite {
    /// The model's layers: `features`, `lstm` and `head`, run by every pass.
    public private(set) var body: Sequential

    public mutating func visitParameters(_ visit: (Int, inout Tensor) throws -> Void) rethrows { try body.visitParameters(visit) }

    /// The per-frame feature extractor; its output per frame is flat (ends with
    /// ``Flatten`` or ``Dense``) with `lstm.inputSize` features.
    public var features: TimeDistributed { get { body.part(0) } set { body.layers[0] = newValue } }
    /// The recurrence over the features; a replacement takes the model's ``returnSequences``.
    public var lstm: LSTM {
        get { body.part(1) }
        set { body.layers[1] = newValue.returning(sequences: returnSequences) }
    }
    /// Maps the LSTM's output to the prediction.
    public var head: Dense { get { body.part(2) } set { body.layers[2] = newValue } }
    /// Whether the head reads every timestep (output (B, T, outputs)) or only the
    /// last valid one (output (B, outputs)): the LSTM's ``LSTM/returnSequences``.
    public var returnSequences: Bool {
        get { lstm.returnSequences }
        set { body.layers[1] = lstm.returning(sequences: newValue) }
    }

    /// A model of the given parts; `returnSequences` sets the LSTM's.
    ///
    /// - Throws: `shapeMismatch` when the head does not take the LSTM's output size.
    public init(features: TimeDistributed, lstm: LSTM, head: Dense, returnSequences: Bool = false) throws {
        guard head.inputSize == lstm.outputSize else {
            throw RecurrentError.shapeMismatch(name: "CNNLSTM head input", expected: [.size(lstm.outputSize)], actual: [head.inputSize])
        }
        body = Sequential(composing: ["features": features, "lstm": lstm.returning(sequences: returnSequences), "head": head])
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

    /// The prediction for `frames` (B, T, H, W, C): (B, outputs), or (B, T,
    /// outputs) with ``returnSequences``.
    ///
    /// - Parameters:
    ///   - frames: (B, T, H, W, C).
    ///   - lengths: valid timesteps per sequence for padded batches, as
    ///     ``LSTM/forward(_:initialState:lengths:layout:returnSequences:)`` takes them.
    public func forward(_ frames: Tensor, lengths: [Int]? = nil) throws -> Tensor {
        try body.forward(frames, context: LayerContext(lengths: lengths))
    }

    /// ``forward(_:lengths:)`` keeping what backward needs; `dropoutSeed` draws
    /// the LSTM's dropout masks between layers.
    public func trainingForward(_ frames: Tensor, lengths: [Int]? = nil, dropoutSeed: UInt64 = 0) throws -> (output: Tensor, cache: Cache) {
        try body.trainingForward(frames, context: LayerContext(lengths: lengths, dropoutSeed: dropoutSeed))
    }
}

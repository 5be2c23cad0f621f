import FrameSequencing

/// Predicts the next frame from each prefix of a frame sequence: a convolutional
/// encoder per frame, an LSTM over the codes, and a decoder of transposed
/// convolutions back to the frame's size.
///
/// ```swift
/// let model = try CNNLSTMForecaster(frameHeight: 64, frameWidth: 64, channels: 1, seed: 3)
/// let predicted = try model.forward(frames)        // (B, T, 64, 64, 1): step t predicts frame t + 1
/// ```
///
/// Train it on windows whose target is the window shifted by one frame
/// (`WindowTarget.shifted`).
public struct CNNLSTMForecaster: Composite {
    /// The model's layers: `encoder`, `lstm` and `decoder`, run by every pass.
    public private(set) var body: Sequential

    /// Frame to code, per timestep (output flat, `lstm.inputSize` values).
    public var encoder: TimeDistributed { get { body.part(0) } set { body.layers[0] = newValue } }
    /// The recurrence over the codes, every timestep returned.
    public var lstm: LSTM { get { body.part(1) } set { body.layers[1] = newValue.returning(sequences: true) } }
    /// LSTM output to the predicted frame, per timestep.
    public var decoder: TimeDistributed { get { body.part(2) } set { body.layers[2] = newValue } }

    /// A model of the given parts; `decoder` must map `lstm.outputSize` values to
    /// a frame. The LSTM returns every timestep (its ``LSTM/returnSequences`` is set).
    public init(encoder: TimeDistributed, lstm: LSTM, decoder: TimeDistributed) {
        body = Sequential(composing: ["encoder": encoder, "lstm": lstm.returning(sequences: true), "decoder": decoder])
    }

    public mutating func visitParameters(_ visit: (Int, inout Tensor) throws -> Void) rethrows { try body.visitParameters(visit) }

    /// The encoder-LSTM-decoder: per entry of `filters`, a 3 x 3 Conv2D (padding
    /// same, ReLU) and a 2 x 2 max pooling (padding same); an LSTM of
    /// `hiddenSize`; a Dense (ReLU) back to the smallest feature map; per entry
    /// of `filters` in reverse, a 3 x 3 Conv2DTranspose of stride 2 (ReLU, the
    /// last one to `channels` with `outputActivation`); and a crop to the
    /// frame's size when pooling rounded up. Seeded.
    ///
    /// - Throws: `invalidArgument` for sizes below 1 or an empty `filters`.
    public init(frameHeight: Int, frameWidth: Int, channels: Int, filters: [Int] = [16, 32], hiddenSize: Int = 128,
                outputActivation: Activation = .sigmoid, seed: UInt64 = 0) throws {
        let parts = try Self.convolutions(frameHeight: frameHeight, frameWidth: frameWidth, channels: channels,
                                          filters: filters, outputActivation: outputActivation, seed: seed)
        let code = parts.codeShape.reduce(1, *)
        let decoder: [any Layer] = [
            .dense(try Dense(inputSize: hiddenSize, outputSize: code, activation: .relu, seed: seed &+ 200)),
            .reshape(parts.codeShape),
        ]
        self.init(encoder: TimeDistributed(try Sequential(parts.encoder)),
                  lstm: try LSTM(inputSize: code, hiddenSize: hiddenSize, seed: seed &+ 100),
                  decoder: TimeDistributed(try Sequential(decoder + parts.decoderTail)))
    }

    /// The parameter count and footprint of the model
    /// ``init(frameHeight:frameWidth:channels:filters:hiddenSize:outputActivation:seed:)``
    /// builds, for an input of `inputDimensions` (B, T, H, W, C), without
    /// making its LSTM and Dense (whose weights grow with the frame: at 785 x 785
    /// they are billions of floats).
    public static func estimatedFootprint(frameHeight: Int, frameWidth: Int, channels: Int, filters: [Int] = [16, 32],
                                          hiddenSize: Int = 128, recomputation: Recomputation = .none,
                                          inputDimensions: [Int]) throws
        -> (parameterCount: Int, footprint: ActivationFootprint) {
        let parts = try convolutions(frameHeight: frameHeight, frameWidth: frameWidth, channels: channels,
                                     filters: filters, outputActivation: .sigmoid, seed: 0)
        let (encoder, tail) = (TimeDistributed(try Sequential(parts.encoder)), TimeDistributed(try Sequential(parts.decoderTail)))
        let code = parts.codeShape.reduce(1, *)
        let codes = try encoder.activationFootprint(inputDimensions: inputDimensions)
        let recurrence = LSTM.estimatedFootprint(inputSize: code, hiddenSize: hiddenSize, inputDimensions: codes.outputDimensions,
                                                 recomputation: recomputation)
        let dense = Dense.estimatedFootprint(inputSize: hiddenSize, outputSize: code, inputDimensions: recurrence.outputDimensions)
        let grid = Array(recurrence.outputDimensions.prefix(2)) + parts.codeShape
        let footprint = codes.then(recurrence).then(dense).then(.view(grid))
            .then(try tail.activationFootprint(inputDimensions: grid))
        let count = encoder.scalarCount + tail.scalarCount + LSTM.parameterCount(inputSize: code, hiddenSize: hiddenSize)
            + Dense.parameterCount(inputSize: hiddenSize, outputSize: code)
        return (count, footprint)
    }

    /// The convolutional parts of the convenience model: the encoder (ending in
    /// a flatten), the shape of the code it flattens, and the decoder after the
    /// Dense and reshape (transposed convolutions and a crop).
    private static func convolutions(frameHeight: Int, frameWidth: Int, channels: Int, filters: [Int],
                                     outputActivation: Activation, seed: UInt64) throws
        -> (encoder: [any Layer], codeShape: [Int], decoderTail: [any Layer]) {
        guard !filters.isEmpty else {
            throw RecurrentError.invalidArgument(name: "CNNLSTMForecaster filters", expected: "at least one entry", actual: "[]")
        }
        try RecurrentError.requirePositive((frameHeight, frameWidth), "CNNLSTMForecaster frame size")
        var encoder: [any Layer] = []
        var (height, width, inputChannels) = (frameHeight, frameWidth, channels)
        for (index, count) in filters.enumerated() {
            encoder.append(.conv2D(try Conv2D(inputChannels: inputChannels, filters: count, kernelSize: (3, 3),
                                              padding: .same, activation: .relu, seed: seed &+ UInt64(index))))
            encoder.append(.maxPool2D(try MaxPool2D(poolSize: (2, 2), padding: .same)))
            (height, width, inputChannels) = ((height + 1) / 2, (width + 1) / 2, count)
        }
        encoder.append(.flatten)
        let codeShape = [height, width, inputChannels]
        var tail: [any Layer] = []
        for (index, count) in filters.enumerated().reversed() {
            let last = index == 0
            let outputChannels = last ? channels : filters[index - 1]
            tail.append(.conv2DTranspose(try Conv2DTranspose(
                inputChannels: count, filters: outputChannels, kernelSize: (3, 3), strides: (2, 2), padding: .same,
                activation: last ? outputActivation : .relu, seed: seed &+ 300 &+ UInt64(index))))
            (height, width) = (height * 2, width * 2)
        }
        if (height, width) != (frameHeight, frameWidth) { tail.append(.crop(height: frameHeight, width: frameWidth)) }
        return (encoder, codeShape, tail)
    }

    /// For `frames` (B, T, H, W, C), the prediction of frame `t + 1` from frames
    /// `0...t`, for every `t`: (B, T, H, W, C).
    ///
    /// - Parameters:
    ///   - frames: (B, T, H, W, C).
    ///   - initialState: the LSTM's state before the first frame (zeros when nil),
    ///     for continuing a sequence; the returned final state continues it.
    public func forward(_ frames: Tensor, initialState: LSTMState? = nil) throws -> (frames: Tensor, finalState: LSTMState) {
        let codes = try encoder.forward(frames)
        let result = try lstm.forward(codes, initialState: initialState)
        return (try decoder.forward(result.output), result.finalState)
    }

    /// ``forward(_:initialState:)`` keeping what backward needs; `dropoutSeed`
    /// draws the LSTM's dropout masks between layers.
    public func trainingForward(_ frames: Tensor, dropoutSeed: UInt64 = 0) throws -> (output: Tensor, cache: Cache) {
        try body.trainingForward(frames, context: LayerContext(dropoutSeed: dropoutSeed))
    }
}

import FrameSequencing

/// The encoding-forecasting network of Shi et al. (2015) for precipitation
/// nowcasting: a stack of ``ConvLSTM2D`` layers reads the observed frames, a
/// second stack starts from the encoder's final states and runs `horizon`
/// steps, and a 1 x 1 ``Conv2D`` maps the forecaster's hidden states (every
/// layer's, concatenated along channels, as in the paper) to each predicted frame.
///
/// ```swift
/// let model = try ConvLSTMForecaster(frameHeight: 16, frameWidth: 16, channels: 1, filters: [8, 8], horizon: 3, seed: 1)
/// let future = try model.forward(frames)                   // (B, 3, 16, 16, 1) for (B, T, 16, 16, 1)
/// let (predicted, cache) = try model.trainingForward(frames)
/// var gradients = model.zeroGradients()
/// let dFrames = try model.backward(outputGradient: dPredicted, cache: cache, into: &gradients)
/// ```
///
/// The forecaster's input at every forecast step is a frame of zeros, as in the
/// paper (the forecast is driven by the copied states alone, so errors do not
/// feed back); its first layer's input kernel therefore gets a zero gradient.
/// Layer `i` of the forecaster starts from the final (h, c) of layer `i` of the
/// encoder, so the two stacks have the same filters per layer and state grids.
///
/// An optional ``embedding`` (a Conv2D, usually 1 x 1) maps every frame to
/// fewer channels before the encoder reads it. It pays on patched frames
/// (`SpaceToDepth`): an 8 x 8 patch of an RGB frame has 192 channels, and a
/// 3 x 3 ConvLSTM input convolution over them costs more than all the rest of
/// the network; a 1 x 1 embedding to 16 channels costs a twelfth of it.
///
/// The parts are public and can be replaced; every pass first checks that they
/// still fit together as the initializer requires, and throws if not.
public struct ConvLSTMForecaster: Composite {
    /// The model's layers: `embedding` (when there is one, per frame), the
    /// encoder-forecaster (whose parameters are `encoder.*` and `forecaster.*`)
    /// and `head` (per forecast step), run by every pass.
    public private(set) var body: Sequential

    /// The encoder and forecaster stacks and the horizon.
    var recurrence: EncoderForecaster<RecurrentStack<ConvLSTM2D>> {
        get { body.part(body.layers.count - 2) }
        set { body.layers[body.layers.count - 2] = newValue }
    }

    /// Maps each frame (H, W, C) to the encoder's input channels; nil to read frames as they are.
    public var embedding: Conv2D? {
        get { body.layers.count == 3 ? perFrame(body.part(0)) : nil }
        set {
            let hasEmbedding = body.layers.count == 3
            switch (newValue, hasEmbedding) {
            case let (layer?, true): body.layers[0] = Self.perFrame(layer)
            case let (layer?, false): body = Sequential(composing: ["embedding": Self.perFrame(layer), "": recurrence, "head": body.layers[1]])
            case (nil, true): body = Sequential(composing: ["": recurrence, "head": body.layers[2]])
            case (nil, false): break
            }
        }
    }
    /// Reads the observed frames (B, T, H, W, C); only the final states are used.
    public var encoder: [ConvLSTM2D] {
        get { recurrence.encoder.layers }
        set { recurrence.encoder.layers = Self.sharing(newValue, pool) }
    }
    /// Runs ``horizon`` steps from the encoder's states on zero input frames.
    public var forecaster: [ConvLSTM2D] {
        get { recurrence.forecaster.layers }
        set { recurrence.forecaster.layers = Self.sharing(newValue, pool) }
    }
    /// 1 x 1 convolution from the concatenated forecaster states (sum of the
    /// filters) to the frame's channels, applied to every forecast step.
    public var head: Conv2D {
        get { perFrame(body.part(body.layers.count - 1)) }
        set { body.layers[body.layers.count - 1] = Self.perFrame(newValue) }
    }
    /// Frames predicted per sequence (k).
    public var horizon: Int { recurrence.horizon }

    /// A model of the given parts.
    ///
    /// - Throws: `invalidArgument` for empty stacks of different depths, a
    ///   horizon below 1, or a head that is not 1 x 1 stride 1; `shapeMismatch` when
    ///   layer `i` of the two stacks differ in filters, a layer does not take the
    ///   previous one's channels, or the head does not take the summed filters.
    public init(encoder: [ConvLSTM2D], forecaster: [ConvLSTM2D], head: Conv2D, horizon: Int,
                embedding: Conv2D? = nil) throws {
        try RecurrentError.requirePositive(horizon, "ConvLSTMForecaster horizon")
        let pool = BufferPool()
        let recurrence = try EncoderForecaster(encoder: try RecurrentStack(Self.sharing(encoder, pool)),
                                               forecaster: try RecurrentStack(Self.sharing(forecaster, pool), output: .concatenated),
                                               horizon: horizon)
        body = Sequential(composing: ["": recurrence, "head": Self.perFrame(head)])
        self.embedding = embedding
        try validateParts()
    }

    /// The gradients of each part, typed: what the body's one entry per part holds.
    public struct PartGradients: Sendable, Equatable {
        /// The embedding's kernel and bias, when the model has one.
        public var embedding: Conv2D.Gradients?
        /// One entry per encoder layer, the layer's weight shapes.
        public var encoder: [ConvLSTM2D.Gradients]
        /// One entry per forecaster layer, the layer's weight shapes.
        public var forecaster: [ConvLSTM2D.Gradients]
        /// The head's kernel (1, 1, sum of filters, C) and bias (C).
        public var head: Conv2D.Gradients
    }

    /// `gradients` (from ``zeroGradients()`` and backward) part by part.
    ///
    /// - Throws: `cacheMismatch` for gradients of a model of other parts.
    public func parts(of gradients: Sequential.Gradients) throws -> PartGradients {
        let count = gradients.layers.count
        guard count == body.layers.count else {
            throw RecurrentError.cacheMismatch(reason: "the gradients have \(count) parts and this model \(body.layers.count)")
        }
        let recurrence = try gradients.layer(count - 2, as: EncoderForecaster<RecurrentStack<ConvLSTM2D>>.Gradients.self)
        func conv(_ index: Int) throws -> Conv2D.Gradients {
            try gradients.layer(index, as: Sequential.Gradients.self).layer(0, as: Conv2D.Gradients.self)
        }
        return PartGradients(embedding: count == 3 ? try conv(0) : nil, encoder: recurrence.encoder.layers,
                             forecaster: recurrence.forecaster.layers, head: try conv(count - 1))
    }

    public mutating func visitParameters(_ visit: (Int, inout Tensor) throws -> Void) rethrows { try body.visitParameters(visit) }

    public func validateComposition() throws { try validateParts() }

    /// The pool of large training buffers the model's ConvLSTM2D layers share
    /// (one workspace per model: a step's buffers pass from layer to layer).
    var pool: BufferPool { recurrence.encoder.layers.first?.buffers ?? recurrence.forecaster.layers.first?.buffers ?? BufferPool() }

    /// `layers` drawing their large buffers from `pool`.
    private static func sharing(_ layers: [ConvLSTM2D], _ pool: BufferPool) -> [ConvLSTM2D] {
        layers.map { layer in
            var layer = layer
            layer.buffers = pool
            return layer
        }
    }

    /// `layer` applied to every frame of a sequence, its parameters named as its own.
    private static func perFrame(_ layer: Conv2D) -> TimeDistributed {
        TimeDistributed(Sequential(composing: ["": layer]))
    }

    /// The Conv2D a ``perFrame(_:)`` wrapper applies.
    private func perFrame(_ wrapper: TimeDistributed) -> Conv2D { wrapper.model.part(0) }

    /// Throws unless the parts fit together as `init` requires. The stacks and
    /// layers are public and can be replaced, so every pass checks again: the
    /// forecaster reads the encoder's state `i` in its layer `i`, and the head
    /// reads every forecaster layer's channels.
    ///
    /// - Throws: the errors of ``init(encoder:forecaster:head:horizon:embedding:)``
    ///   but for the horizon (which cannot change).
    func validateParts() throws {
        guard !encoder.isEmpty, encoder.count == forecaster.count else {
            throw RecurrentError.invalidArgument(name: "ConvLSTMForecaster stacks", expected: "two non-empty stacks of one depth",
                                                 actual: "\(encoder.count) encoder and \(forecaster.count) forecaster layers")
        }
        for (index, (e, f)) in zip(encoder, forecaster).enumerated() {
            guard e.filters == f.filters, !e.isReversed, !f.isReversed else {
                throw RecurrentError.shapeMismatch(name: "ConvLSTMForecaster layer \(index) filters (forward layers)",
                                                   expected: [.size(e.filters)], actual: [f.filters])
            }
            if index > 0 {
                try requireChannels(e.inputChannels, encoder[index - 1].filters, "encoder layer \(index) input channels")
                try requireChannels(f.inputChannels, forecaster[index - 1].filters, "forecaster layer \(index) input channels")
            }
        }
        guard head.kernelSize == (1, 1), head.strides == (1, 1) else {
            throw RecurrentError.invalidArgument(name: "ConvLSTMForecaster head", expected: "a 1 x 1 Conv2D of stride 1",
                                                 actual: "kernel \(head.kernelSize), strides \(head.strides)")
        }
        try requireChannels(head.inputChannels, forecaster.map(\.filters).reduce(0, +), "head input channels")
        if let embedding {
            try requireChannels(encoder[0].inputChannels, embedding.filters, "encoder layer 0 input channels (the embedding's filters)")
            guard embedding.strides == (1, 1), embedding.padding == .same || embedding.kernelSize == (1, 1) else {
                throw RecurrentError.invalidArgument(name: "ConvLSTMForecaster embedding", expected: "a Conv2D of stride 1 that keeps the frame size",
                                                     actual: "kernel \(embedding.kernelSize), strides \(embedding.strides), padding \(embedding.padding)")
            }
        }
    }

    /// The paper's network with seeded Keras initializers: per entry of
    /// `filters`, an encoder and a forecaster ``ConvLSTM2D`` of `kernelSize`
    /// (padding same, so every state is H x W), and a 1 x 1 head to `channels`
    /// with `outputActivation` (sigmoid for intensities in [0, 1]); with
    /// `embeddingFilters`, a linear 1 x 1 ``embedding`` of the frames to that many channels first.
    ///
    /// - Throws: `invalidArgument` for sizes below 1 or an empty `filters`.
    public init(frameHeight: Int, frameWidth: Int, channels: Int, filters: [Int] = [64, 64],
                kernelSize: (height: Int, width: Int) = (3, 3), horizon: Int = 1,
                outputActivation: Activation = .sigmoid, embeddingFilters: Int? = nil, seed: UInt64 = 0) throws {
        guard !filters.isEmpty else {
            throw RecurrentError.invalidArgument(name: "ConvLSTMForecaster filters", expected: "at least one entry", actual: "[]")
        }
        try RecurrentError.requirePositive((frameHeight, frameWidth), "ConvLSTMForecaster frame size")
        let embedding = try embeddingFilters.map {
            try Conv2D(inputChannels: channels, filters: $0, kernelSize: (1, 1), activation: .linear, seed: seed &+ 300)
        }
        let first = embeddingFilters ?? channels
        func stack(_ offset: UInt64) throws -> [ConvLSTM2D] {
            try filters.enumerated().map { index, count in
                try ConvLSTM2D(inputChannels: index == 0 ? first : filters[index - 1], filters: count,
                               kernelSize: kernelSize, padding: .same, seed: seed &+ offset &+ UInt64(2 * index))
            }
        }
        let head = try Conv2D(inputChannels: filters.reduce(0, +), filters: channels, kernelSize: (1, 1),
                              activation: outputActivation, seed: seed &+ 200)
        try self.init(encoder: stack(0), forecaster: stack(100), head: head, horizon: horizon, embedding: embedding)
    }

    /// The next ``horizon`` frames after each sequence of `frames`
    /// (B, T, H, W, C): (B, k, H', W', C), H' x W' the state grid (H x W with
    /// padding same and stride 1, as the convenience initializer builds).
    ///
    /// - Throws: `shapeMismatch` for frames the encoder does not take or states
    ///   the forecaster cannot start from; the errors of
    ///   ``init(encoder:forecaster:head:horizon:embedding:)`` for parts replaced
    ///   since by parts that do not fit.
    public func forward(_ frames: Tensor) throws -> Tensor {
        try forward(frames, context: LayerContext())
    }

    /// Each encoder layer's final state after `frames` (B, T, H, W, C), starting
    /// from `states` (zeros when nil; else one per encoder layer).
    func encode(_ frames: Tensor, from states: [ConvLSTMState]? = nil) throws -> [ConvLSTMState] {
        try validateParts()
        if let states, states.count != encoder.count {
            throw RecurrentError.invalidArgument(name: "ConvLSTMForecaster state", expected: "one state per encoder layer (\(encoder.count))",
                                                 actual: "\(states.count) states")
        }
        let x = try embedding.map { try Self.perFrame($0).forward(frames) } ?? frames
        return try recurrence.encode(x, from: states)
    }

    /// The ``horizon`` frames (B, k, H', W', C) the forecaster predicts from the
    /// encoder's states.
    func forecast(from states: [ConvLSTMState]) throws -> Tensor {
        try validateParts()
        guard states.count == forecaster.count else {
            throw RecurrentError.invalidArgument(name: "ConvLSTMForecaster encoder states", expected: "one per forecaster layer (\(forecaster.count))",
                                                 actual: "\(states.count) states")
        }
        return try Self.perFrame(head).forward(try recurrence.forecast(from: states))
    }

    /// ``forward(_:)`` keeping what backward needs.
    public func trainingForward(_ frames: Tensor) throws -> (output: Tensor, cache: Cache) {
        try trainingForward(frames, context: LayerContext())
    }
}

private func requireChannels(_ actual: Int, _ expected: Int, _ name: String) throws {
    guard actual == expected else {
        throw RecurrentError.shapeMismatch(name: "ConvLSTMForecaster \(name)", expected: [.size(expected)], actual: [actual])
    }
}

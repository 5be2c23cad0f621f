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
public struct ConvLSTMForecaster: Sendable {
    /// Maps each frame (H, W, C) to the encoder's input channels; nil to read frames as they are.
    public var embedding: Conv2D?
    /// Reads the observed frames (B, T, H, W, C); only the final states are used.
    public var encoder: [ConvLSTM2D]
    /// Runs ``horizon`` steps from the encoder's states on zero input frames.
    public var forecaster: [ConvLSTM2D]
    /// 1 x 1 convolution from the concatenated forecaster states (sum of the
    /// filters) to the frame's channels, applied to every forecast step.
    public var head: Conv2D
    /// Frames predicted per sequence (k).
    public let horizon: Int

    /// A model of the given parts.
    ///
    /// - Throws: `invalidArgument` for empty stacks of different depths, a
    ///   horizon below 1, or a head that is not 1 x 1 stride 1; `shapeMismatch` when
    ///   layer `i` of the two stacks differ in filters, a layer does not take the
    ///   previous one's channels, or the head does not take the summed filters.
    public init(encoder: [ConvLSTM2D], forecaster: [ConvLSTM2D], head: Conv2D, horizon: Int,
                embedding: Conv2D? = nil) throws {
        try RecurrentError.requirePositive(horizon, "ConvLSTMForecaster horizon")
        self.embedding = embedding
        self.encoder = encoder
        self.forecaster = forecaster
        self.head = head
        self.horizon = horizon
        try validateParts()
    }

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

    /// What backward needs from a training forward pass.
    public struct Cache: Sendable {
        let embedding: Conv2D.Cache?
        let encoder: [ConvLSTM2D.Cache]
        let forecaster: [ConvLSTM2D.Cache]
        let head: Conv2D.Cache
        let stateShape: [Int]        // (B, H', W') of every state
    }

    /// The parameter gradients of every part, accumulated by backward.
    public struct Gradients: Sendable, Equatable {
        /// The embedding's kernel and bias, when the model has one.
        public var embedding: Conv2D.Gradients?
        /// One entry per encoder layer, the layer's weight shapes.
        public var encoder: [ConvLSTM2D.Gradients]
        /// One entry per forecaster layer, the layer's weight shapes.
        public var forecaster: [ConvLSTM2D.Gradients]
        /// The head's kernel (1, 1, sum of filters, C) and bias (C).
        public var head: Conv2D.Gradients
        /// Sets every gradient to zero.
        public mutating func zero() {
            embedding?.zero()
            for index in encoder.indices { encoder[index].zero() }
            for index in forecaster.indices { forecaster[index].zero() }
            head.zero()
        }
    }

    /// Zero gradients of every part.
    public func zeroGradients() -> Gradients {
        Gradients(embedding: embedding?.zeroGradients(), encoder: encoder.map { $0.zeroGradients() },
                  forecaster: forecaster.map { $0.zeroGradients() },
                  head: head.zeroGradients())
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
        try forecast(from: try encode(frames))
    }

    /// Each encoder layer's final state after `frames` (B, T, H, W, C), starting
    /// from `states` (zeros when nil; else one per encoder layer).
    func encode(_ frames: Tensor, from states: [ConvLSTMState]? = nil) throws -> [ConvLSTMState] {
        try validateParts()
        if let states, states.count != encoder.count {
            throw RecurrentError.invalidArgument(name: "ConvLSTMForecaster state", expected: "one state per encoder layer (\(encoder.count))",
                                                 actual: "\(states.count) states")
        }
        var x = try embedded(frames)
        var finals: [ConvLSTMState] = []
        for (index, layer) in encoder.enumerated() {
            let result = try layer.forward(x, initialState: states?[index], returnSequences: index < encoder.count - 1)
            finals.append(result.finalState)
            x = result.output
        }
        return finals
    }

    /// The ``horizon`` frames (B, k, H', W', C) the forecaster predicts from the
    /// encoder's states.
    func forecast(from states: [ConvLSTMState]) throws -> Tensor {
        try validateParts()
        guard states.count == forecaster.count else {
            throw RecurrentError.invalidArgument(name: "ConvLSTMForecaster encoder states",
                expected: "one per forecaster layer (\(forecaster.count))",
                                                 actual: "\(states.count) states")
        }
        var y = try zeroInput(states[0])
        var outputs: [Tensor] = []
        for (index, layer) in forecaster.enumerated() {
            y = try layer.forward(y, initialState: states[index]).output
            outputs.append(y)
        }
        let predicted = try head.forward(try concatenatedChannels(outputs))
        return try predicted.reshaped(to: Shape([states[0].hidden.dimensions[0], horizon] + predicted.dimensions.dropFirst()))
    }

    /// ``forward(_:)`` keeping what backward needs.
    public func trainingForward(_ frames: Tensor) throws -> (output: Tensor, cache: Cache) {
        try validateParts()
        var x = frames
        var embeddingCache: Conv2D.Cache?
        if let embedding {
            let (folded, leading) = try foldedFrames(frames)
            let (y, cache) = try embedding.trainingForward(folded)
            (x, embeddingCache) = (try y.reshaped(to: Shape(leading + y.dimensions.dropFirst())), cache)
        }
        var states: [ConvLSTMState] = []
        var encoderCaches: [ConvLSTM2D.Cache] = []
        for (index, layer) in encoder.enumerated() {
            let (result, cache) = try layer.trainingForward(x, returnSequences: index < encoder.count - 1)
            states.append(result.finalState)
            encoderCaches.append(cache)
            x = result.output
        }
        var y = try zeroInput(states[0])
        var outputs: [Tensor] = []
        var forecasterCaches: [ConvLSTM2D.Cache] = []
        for (index, layer) in forecaster.enumerated() {
            let (result, cache) = try layer.trainingForward(y, initialState: states[index])
            forecasterCaches.append(cache)
            y = result.output
            outputs.append(y)
        }
        let (predicted, headCache) = try head.trainingForward(try concatenatedChannels(outputs))
        let batch = states[0].hidden.dimensions[0]
        return (try predicted.reshaped(to: Shape([batch, horizon] + predicted.dimensions.dropFirst())),
                Cache(embedding: embeddingCache, encoder: encoderCaches, forecaster: forecasterCaches, head: headCache,
                      stateShape: Array(states[0].hidden.dimensions.prefix(3))))
    }

    /// Backward of `L = sum(output * outputGradient)`: accumulates every
    /// parameter's gradient into `gradients` and returns dL/dframes.
    ///
    /// - Throws: `shapeMismatch` for an output gradient of the wrong shape;
    ///   `cacheMismatch` for a cache or gradients of another model.
    public func backward(outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws -> Tensor {
        try validateParts()
        guard cache.encoder.count == encoder.count, cache.forecaster.count == forecaster.count,
              gradients.encoder.count == encoder.count, gradients.forecaster.count == forecaster.count else {
            throw RecurrentError.cacheMismatch(reason: "this model has \(encoder.count) layers per stack")
        }
        let (batch, height, width) = (cache.stateShape[0], cache.stateShape[1], cache.stateShape[2])
        try RecurrentError.requireShape(outputGradient, [batch, horizon, height, width, head.filters],
                                        "ConvLSTMForecaster output gradient")
        let folded = try outputGradient.reshaped(to: Shape([batch * horizon, height, width, head.filters]))
        let dStates = try head.backward(outputGradient: folded, cache: cache.head, into: &gradients.head)
        let perLayer = try splitChannels(dStates, forecaster.map(\.filters), leading: [batch, horizon])
        var finalStateGradients = [ConvLSTMState](), carried: Tensor? = nil
        for index in forecaster.indices.reversed() {
            var dy = perLayer[index]
            if let carried { dy = try added(dy, carried) }
            let inputs = try forecaster[index].backward(outputGradient: dy, finalStateGradient: nil, cache: cache.forecaster[index],
                                                        into: &gradients.forecaster[index])
            finalStateGradients.insert(inputs.initialState, at: 0)
            carried = inputs.input
        }
        var dx = try Tensor(shape: [batch, height, width, encoder.last!.filters])   // the top encoder output is unused
        for index in encoder.indices.reversed() {
            dx = try encoder[index].backward(outputGradient: dx, finalStateGradient: finalStateGradients[index],
                                             cache: cache.encoder[index], into: &gradients.encoder[index]).input
        }
        guard let embedding else { return dx }
        guard let embeddingCache = cache.embedding, gradients.embedding != nil else {
            throw RecurrentError.cacheMismatch(reason: "the model has an embedding but the cache or gradients have none")
        }
        let (dEmbedded, leading) = try foldedFrames(dx)
        let dFrames = try embedding.backward(outputGradient: dEmbedded, cache: embeddingCache, into: &gradients.embedding!)
        return try dFrames.reshaped(to: Shape(leading + dFrames.dimensions.dropFirst()))
    }

    /// `frames` (B, T, H, W, C) through the embedding, when there is one.
    private func embedded(_ frames: Tensor) throws -> Tensor {
        guard let embedding else { return frames }
        let (folded, leading) = try foldedFrames(frames)
        let y = try embedding.forward(folded)
        return try y.reshaped(to: Shape(leading + y.dimensions.dropFirst()))
    }

    /// (B, T, H, W, C) as (B * T, H, W, C), and (B, T).
    private func foldedFrames(_ frames: Tensor) throws -> (Tensor, [Int]) {
        let d = frames.dimensions
        guard d.count == 5 else {
            throw RecurrentError.shapeMismatch(name: "ConvLSTMForecaster frames (batch, timesteps, height, width, channels)",
                                               expected: [.any("batch"), .any("timesteps"), .any("height"), .any("width"), .any("channels")],
                                               actual: d)
        }
        return (try frames.reshaped(to: Shape([d[0] * d[1]] + d.dropFirst(2))), Array(d.prefix(2)))
    }

    /// Zero frames (B, k, H', W', C_f) for the forecaster's first layer.
    private func zeroInput(_ state: ConvLSTMState) throws -> Tensor {
        let d = state.hidden.dimensions
        return try Tensor(shape: Shape([d[0], horizon, d[1], d[2], forecaster[0].inputChannels],
                                       names: ["batch", "timesteps", "height", "width", "channels"]))
    }
}

private func requireChannels(_ actual: Int, _ expected: Int, _ name: String) throws {
    guard actual == expected else {
        throw RecurrentError.shapeMismatch(name: "ConvLSTMForecaster \(name)", expected: [.size(expected)], actual: [actual])
    }
}

/// (B, k, H, W, F_i) tensors side by side along channels, folded to (B * k, H, W, sum F_i).
private func concatenatedChannels(_ parts: [Tensor]) throws -> Tensor {
    let d = parts[0].dimensions
    let pixels = d[0] * d[1] * d[2] * d[3]
    let widths = parts.map { $0.dimensions[4] }
    let total = widths.reduce(0, +)
    var values = [Float](repeating: 0, count: pixels * total)
    var offset = 0
    for (part, width) in zip(parts, widths) {
        part.withUnsafeBufferPointer { source in
            for p in 0 ..< pixels { for c in 0 ..< width { values[p * total + offset + c] = source[p * width + c] } }
        }
        offset += width
    }
    return try Tensor(shape: [d[0] * d[1], d[2], d[3], total], scalars: values)
}

/// The inverse of `concatenatedChannels`: (N, H, W, sum F_i) to (leading..., H, W, F_i) each.
private func splitChannels(_ whole: Tensor, _ widths: [Int], leading: [Int]) throws -> [Tensor] {
    let d = whole.dimensions
    let (pixels, total) = (d[0] * d[1] * d[2], d[3])
    let values = whole.scalars
    var offset = 0
    return try widths.map { width in
        var part = [Float](repeating: 0, count: pixels * width)
        for p in 0 ..< pixels { for c in 0 ..< width { part[p * width + c] = values[p * total + offset + c] } }
        offset += width
        return try Tensor(shape: Shape(leading + [d[1], d[2], width]), scalars: part)
    }
}

private func added(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    try Tensor(shape: a.shape, scalars: zip(a.scalars, b.scalars).map(+))
}

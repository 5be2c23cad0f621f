import FrameSequencing

/// A stack of layers applied in order, Keras's `Sequential` and PyTorch's
/// `nn.Sequential`: any ``Layer``, the package's or your own, with a training
/// forward that keeps what backward needs and a backward that accumulates every
/// layer's gradients.
///
/// ```swift
/// let cnn = try Sequential([
///     .conv2D(Conv2D(inputChannels: 1, filters: 8, kernelSize: (3, 3), activation: .relu, seed: 1)),
///     .maxPool2D(MaxPool2D(poolSize: (2, 2))),
///     .flatten,
/// ])
/// let features = try cnn.forward(images)     // (B, 13 * 13 * 8) for 28 x 28 images
/// ```
///
/// The leading-dot spellings (`.conv2D(_:)`, `.flatten`, `.reshape(_:)`, ...) are
/// the layers themselves (`Conv2D(...)`, `Flatten()`, ``Reshape``); a layer of
/// your own goes in the list as it is. A Conv2D followed by a MaxPool2D runs
/// fused, never storing the convolution's full-resolution output. Wrap a stack
/// in ``TimeDistributed`` to apply it to every frame of a sequence.
public struct Sequential: Sendable {
    /// The layers, first applied first. Replace a layer's parameters with tensors
    /// of the same shapes only; each pass checks every layer again and throws
    /// naming the layer.
    public var layers: [any Layer]
    /// The names given at ``init(named:)``; positions name the layers otherwise.
    private var givenNames: [String]?

    /// A stack of `layers`, named by position: `0`, `1`, ...
    ///
    /// - Throws: `invalidArgument` for a ``Reshape`` or ``Crop`` with a size below 1.
    public init(_ layers: [any Layer]) throws {
        for layer in layers { try validateSizes(layer) }
        self.layers = layers
    }

    /// A stack of named layers, PyTorch's `nn.Sequential(OrderedDict(...))`:
    /// each layer's parameters are named under its name (`lstm.weight_ih_l0`)
    /// and its errors say it.
    ///
    /// - Throws: `invalidArgument` for an empty or repeated name, or a
    ///   ``Reshape`` or ``Crop`` with a size below 1.
    public init(named entries: KeyValuePairs<String, any Layer>) throws {
        var seen = Set<String>()
        for (name, _) in entries where name.isEmpty || !seen.insert(name).inserted {
            throw RecurrentError.invalidArgument(name: "Sequential layer names", expected: "distinct, non-empty names",
                                                 actual: "\"\(name)\" given twice or empty")
        }
        self.init(composing: entries)
        for layer in layers { try validateSizes(layer) }
    }

    /// Layers `range` of this stack under their names here (a composite's
    /// parts run one timestep at a time, ``steppedForward(_:recurrence:as:from:context:)``).
    func sublayers(_ range: Range<Int>) -> Sequential {
        var part = self
        part.layers = Array(layers[range])
        part.givenNames = givenNames.map { Array($0[range]) }
        return part
    }

    /// A named stack whose names the package chose (distinct, not empty); a
    /// composite's parts. Sizes are checked at every pass, as for every stack.
    init(composing entries: KeyValuePairs<String, any Layer>) {
        layers = entries.map(\.value)
        givenNames = entries.map(\.key)
    }

    /// Each layer's name: the one given at ``init(named:)``, else its position.
    /// Names belong to positions: layers appended after a named stack was made
    /// are named by position, and a named stack's layers are best replaced in
    /// place rather than inserted or removed.
    public var names: [String] {
        layers.indices.map { index in givenNames.flatMap { index < $0.count ? $0[index] : nil } ?? "\(index)" }
    }

    /// Per-layer gradients of a ``Sequential``, accumulated by backward.
    public struct Gradients: Sendable, Equatable {
        /// One entry per layer, in the layer's own gradient type (``NoGradients``
        /// for layers without parameters).
        public var layers: [any GradientSet]

        public static func == (a: Gradients, b: Gradients) -> Bool {
            a.layers.count == b.layers.count && zip(a.layers, b.layers).allSatisfy { $0.tensors == $1.tensors }
        }

        /// Sets every gradient to zero.
        public mutating func zero() {
            for index in layers.indices { layers[index].zero() }
        }

        /// Layer `index`'s gradients in their own type: `gradients.layer(1, as: LSTMGradients.self)`
        /// for a ``CNNLSTM``'s LSTM.
        ///
        /// - Throws: `invalidArgument` for an index outside the stack;
        ///   `cacheMismatch` when that layer's gradients are of another type.
        public func layer<G: GradientSet>(_ index: Int, as type: G.Type) throws -> G {
            guard layers.indices.contains(index) else {
                throw RecurrentError.invalidArgument(name: "Sequential gradients index", expected: "0 ..< \(layers.count)",
                                                     actual: "\(index)")
            }
            guard let gradients = layers[index] as? G else {
                throw RecurrentError.cacheMismatch(reason: "layer \(index)'s gradients are a \(Swift.type(of: layers[index])), not a \(G.self)")
            }
            return gradients
        }
    }

    /// Zero gradients for every layer.
    public func zeroGradients() -> Gradients {
        Gradients(layers: layers.map { $0.zeroGradients() })
    }

    /// What backward needs from each layer's training forward.
    public struct Cache: Sendable {
        let entries: [any Sendable]
        let inputShape: [Int]
        let outputShape: [Int]
    }

    /// The cache entry of a MaxPool2D run fused with the Conv2D before it.
    private struct Fused: Sendable {}

    /// The pooling after layer `index` when it is a Conv2D followed by a
    /// MaxPool2D: the pair runs fused.
    private func pooling(after index: Int) -> (Conv2D, MaxPool2D)? {
        guard let conv = layers[index] as? Conv2D, index + 1 < layers.count, let pool = layers[index + 1] as? MaxPool2D else {
            return nil
        }
        return (conv, pool)
    }

    /// Runs `body` on layer `index`, naming the layer in what it throws.
    private func inLayer<R>(_ index: Int, _ body: () throws -> R) throws -> R {
        do {
            try validateSizes(layers[index])
            return try body()
        } catch let error as RecurrentError {
            throw error.inLayer(index, layerName(layers[index]), named: givenNames == nil ? nil : names[index])
        }
    }

    /// The output dimensions for an input of `dimensions` (batch first), or the
    /// error the first layer that cannot take it throws.
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        var current = dimensions
        for index in layers.indices {
            current = try inLayer(index) { try layers[index].outputDimensions(forInput: current) }
        }
        return current
    }

    /// The stack's output for `input` (batch first).
    public func forward(_ input: Tensor, context: LayerContext = LayerContext()) throws -> Tensor {
        var x = input
        var index = 0
        while index < layers.count {
            x = try inLayer(index) {
                if let (conv, pool) = pooling(after: index) {
                    index += 1
                    return try conv.pooledInference(x, pool: pool)
                }
                return try layers[index].forward(x, context: context)
            }
            index += 1
        }
        return x
    }

    /// ``forward(_:context:)`` keeping what backward needs.
    public func trainingForward(_ input: Tensor, context: LayerContext = LayerContext()) throws -> (output: Tensor, cache: Cache) {
        var x = input
        var entries: [any Sendable] = []
        entries.reserveCapacity(layers.count)
        while entries.count < layers.count {
            let index = entries.count
            x = try inLayer(index) {
                if let (conv, pool) = pooling(after: index) {
                    let (y, cache) = try conv.pooledForward(x, pool: pool)
                    entries += [cache, Fused()]
                    return y
                }
                let (y, cache) = try trainingStep(layers[index], x, context)
                entries.append(cache)
                return y
            }
        }
        return (x, Cache(entries: entries, inputShape: input.dimensions, outputShape: x.dimensions))
    }

    /// Backward of `L = sum(output * outputGradient)`: accumulates every layer's
    /// parameter gradients into `gradients` and returns dL/dinput.
    ///
    /// - Throws: `shapeMismatch` for an output gradient of the wrong shape;
    ///   `cacheMismatch` for a cache or gradients of another stack.
    public func backward(outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws -> Tensor {
        guard cache.entries.count == layers.count, gradients.layers.count == layers.count else {
            throw RecurrentError.cacheMismatch(
                reason: "this stack has \(layers.count) layers, the cache \(cache.entries.count) and the gradients \(gradients.layers.count)")
        }
        try RecurrentError.requireShape(outputGradient, cache.outputShape, "Sequential output gradient")
        var delta = outputGradient
        for index in layers.indices.reversed() where !(cache.entries[index] is Fused) {
            delta = try inLayer(index) {
                if let pooled = cache.entries[index] as? Conv2D.PooledCache, let conv = layers[index] as? Conv2D {
                    return try backwardStep(conv, delta, &gradients.layers[index]) { conv, g, grads in
                        try conv.pooledBackward(outputGradient: g, cache: pooled, into: &grads)
                    }
                }
                return try backwardStep(layers[index], delta, cache.entries[index], &gradients.layers[index])
            }
        }
        return delta
    }
}

// MARK: - One layer through the protocol, its types opened

private func trainingStep<L: Layer>(_ layer: L, _ x: Tensor, _ context: LayerContext) throws -> (Tensor, any Sendable) {
    let (y, cache) = try layer.trainingForward(x, context: context)
    return (y, cache)
}

private func backwardStep<L: Layer>(_ layer: L, _ delta: Tensor, _ cache: any Sendable,
                                    _ gradients: inout any GradientSet) throws -> Tensor {
    guard let cache = cache as? L.Cache else {
        throw RecurrentError.cacheMismatch(reason: "its entry was not made by a \(L.self)")
    }
    return try backwardStep(layer, delta, &gradients) { layer, g, grads in
        try layer.backward(outputGradient: g, cache: cache, into: &grads)
    }
}

/// Moves the layer's gradients out of their slot (so updating them copies no
/// tensor), runs `body` on them and puts them back.
private func backwardStep<L: Layer>(
    _ layer: L, _ delta: Tensor, _ slot: inout any GradientSet,
    _ body: (L, Tensor, inout L.Gradients) throws -> Tensor
) throws -> Tensor {
    guard var gradients = slot as? L.Gradients else {
        throw RecurrentError.cacheMismatch(reason: "its gradients are not a \(L.self)'s")
    }
    slot = NoGradients()
    defer { slot = gradients }
    return try body(layer, delta, &gradients)
}

/// Reshape and crop sizes are checked when the stack is made and at every pass.
private func validateSizes(_ layer: any Layer) throws {
    if let reshape = layer as? Reshape { try reshape.validate() }
    if let crop = layer as? Crop { try crop.validate() }
}

/// A short name for messages: "Conv2D", "Dense", ...
func layerName(_ layer: any Layer) -> String { "\(type(of: layer))" }

// MARK: - The leading-dot spellings

extension Layer where Self == Conv2D {
    /// (B, H, W, C) to (B, OH, OW, F).
    public static func conv2D(_ layer: Conv2D) -> Conv2D { layer }
}

extension Layer where Self == Conv2DTranspose {
    /// (B, H, W, C) to (B, OH, OW, F), upsampling.
    public static func conv2DTranspose(_ layer: Conv2DTranspose) -> Conv2DTranspose { layer }
}

extension Layer where Self == MaxPool2D {
    /// (B, H, W, C) to (B, OH, OW, C).
    public static func maxPool2D(_ layer: MaxPool2D) -> MaxPool2D { layer }
}

extension Layer where Self == Flatten {
    /// (B, ...) to (B, features), as Keras's `Flatten`.
    public static var flatten: Flatten { Flatten() }
}

extension Layer where Self == Reshape {
    /// (B, ...) to (B, dimensions...), as Keras's `Reshape`.
    public static func reshape(_ dimensions: [Int]) -> Reshape { Reshape(dimensions) }
}

extension Layer where Self == Crop {
    /// (B, H, W, C) to (B, height, width, C), the top-left pixels.
    public static func crop(height: Int, width: Int) -> Crop { Crop(height: height, width: width) }
}

extension Layer where Self == Dense {
    /// (..., I) to (..., O).
    public static func dense(_ layer: Dense) -> Dense { layer }
}

extension Layer where Self == Activation {
    /// The same shape, `activation` applied to every value.
    public static func activation(_ activation: Activation) -> Activation { activation }
}

extension Layer where Self == SpaceToDepth {
    /// (B, H, W, C) to (B, ceil(H / p), ceil(W / p), p * p * C), TensorFlow's `space_to_depth`.
    public static func spaceToDepth(_ patching: SpaceToDepth) -> SpaceToDepth { patching }
}

extension Layer where Self == DepthToSpace {
    /// (B, h, w, p * p * C) to (B, h * p, w * p, C), TensorFlow's `depth_to_space`.
    public static func depthToSpace(_ patching: SpaceToDepth) -> DepthToSpace { DepthToSpace(patching) }
}

extension RecurrentError {
    /// The same error, its subject prefixed with the layer's position in a stack.
    func inLayer(_ index: Int, _ name: String, named given: String? = nil) -> RecurrentError {
        if given == "" { return self }   // a composite's part that names its own errors (its parameters too)
        let prefix = "Layer \(index)\(given.map { " '\($0)'" } ?? "") (\(name)): "
        switch self {
        case let .invalidArgument(n, e, a): return .invalidArgument(name: prefix + n, expected: e, actual: a)
        case let .shapeMismatch(n, e, a): return .shapeMismatch(name: prefix + n, expected: e, actual: a)
        case let .cacheMismatch(reason): return .cacheMismatch(reason: prefix + reason)
        case let .nonFinite(n, index, value): return .nonFinite(name: prefix + n, index: index, value: value)
        case .missingParameter: return self
        }
    }
}

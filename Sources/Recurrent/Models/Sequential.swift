import FrameSequencing

/// One layer of a ``Sequential`` stack: a map from a batch of samples to a
/// batch of samples, axis 0 the batch everywhere.
public enum SequentialLayer: Sendable {
    /// (B, H, W, C) to (B, OH, OW, F).
    case conv2D(Conv2D)
    /// (B, H, W, C) to (B, OH, OW, F), upsampling.
    case conv2DTranspose(Conv2DTranspose)
    /// (B, H, W, C) to (B, OH, OW, C).
    case maxPool2D(MaxPool2D)
    /// (B, ...) to (B, features), as Keras's `Flatten`.
    case flatten
    /// (B, ...) to (B, dimensions...) in row-major order, as Keras's `Reshape`
    /// (the batch axis is not listed).
    case reshape([Int])
    /// (B, H, W, C) to (B, height, width, C): the top-left `height` x `width`
    /// pixels, as Keras's `Cropping2D` with the whole crop at the bottom and right.
    case crop(height: Int, width: Int)
    /// (..., I) to (..., O).
    case dense(Dense)
    /// The same shape, `activation` applied to every value.
    case activation(Activation)
    /// (B, H, W, C) to (B, ceil(H / p), ceil(W / p), p * p * C), zero-padded at the
    /// bottom and right, as TensorFlow's `space_to_depth` (see `SpaceToDepth`).
    case spaceToDepth(SpaceToDepth)
    /// (B, h, w, p * p * C) to (B, h * p, w * p, C), TensorFlow's `depth_to_space`;
    /// follow it with ``crop(height:width:)`` to drop a ``spaceToDepth(_:)``'s padding.
    case depthToSpace(SpaceToDepth)

    /// The gradient slot this layer accumulates into (``LayerGradients/none`` for
    /// layers without parameters).
    func zeroGradients() -> LayerGradients {
        switch self {
        case .conv2D(let layer): return .conv2D(layer.zeroGradients())
        case .conv2DTranspose(let layer): return .conv2DTranspose(layer.zeroGradients())
        case .dense(let layer): return .dense(layer.zeroGradients())
        case .maxPool2D, .flatten, .reshape, .crop, .activation, .spaceToDepth, .depthToSpace: return .none
        }
    }

    /// Throws `invalidArgument` for a ``reshape(_:)`` or ``crop(height:width:)``
    /// with a size below 1; the other layers check their own parameters when they run.
    func validateSizes() throws {
        switch self {
        case .reshape(let dimensions):
            guard !dimensions.isEmpty, dimensions.allSatisfy({ $0 > 0 }) else {
                throw RecurrentError.invalidArgument(name: "Reshape dimensions", expected: "one or more sizes of at least 1",
                                                     actual: "\(dimensions)")
            }
        case let .crop(height, width):
            try RecurrentError.requirePositive((height, width), "Crop size")
        default: break
        }
    }

    /// A short name for messages: "Conv2D", "Dense", ...
    var name: String {
        switch self {
        case .conv2D: return "Conv2D"
        case .conv2DTranspose: return "Conv2DTranspose"
        case .maxPool2D: return "MaxPool2D"
        case .flatten: return "Flatten"
        case .reshape: return "Reshape"
        case .crop: return "Crop"
        case .dense: return "Dense"
        case .activation: return "Activation"
        case .spaceToDepth: return "SpaceToDepth"
        case .depthToSpace: return "DepthToSpace"
        }
    }
}

/// The parameter gradients of one ``SequentialLayer``, in the same position of
/// ``Sequential/Gradients/layers``.
public enum LayerGradients: Sendable, Equatable {
    case conv2D(Conv2D.Gradients)
    case conv2DTranspose(Conv2DTranspose.Gradients)
    case dense(Dense.Gradients)
    /// A layer without parameters.
    case none

    /// Sets every gradient to zero.
    public mutating func zero() {
        switch self {
        case .conv2D(var g): g.zero(); self = .conv2D(g)
        case .conv2DTranspose(var g): g.zero(); self = .conv2DTranspose(g)
        case .dense(var g): g.zero(); self = .dense(g)
        case .none: break
        }
    }
}

/// A stack of per-sample layers applied in order, Keras's `Sequential` for the
/// image and feature layers: forward, a training forward that keeps what
/// backward needs, and backward accumulating every layer's gradients.
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
/// Wrap it in ``TimeDistributed`` to apply it to every frame of a sequence.
public struct Sequential: Sendable {
    /// The layers, first applied first. Replace a layer's parameters with
    /// tensors of the same shapes only; each pass checks every layer again
    /// (a ``SequentialLayer/reshape(_:)`` or ``SequentialLayer/crop(height:width:)`` added since
    /// `init` included) and throws naming the layer.
    public var layers: [SequentialLayer]

    /// A stack of `layers`.
    ///
    /// - Throws: `invalidArgument` for a ``SequentialLayer/reshape(_:)`` or
    ///   ``SequentialLayer/crop(height:width:)`` with a size below 1.
    public init(_ layers: [SequentialLayer]) throws {
        for layer in layers { try layer.validateSizes() }
        self.layers = layers
    }

    /// Per-layer gradients of a ``Sequential``, accumulated by backward.
    public struct Gradients: Sendable, Equatable {
        /// One entry per layer, ``LayerGradients/none`` for layers without parameters.
        public var layers: [LayerGradients]
        /// Sets every gradient to zero.
        public mutating func zero() {
            for index in layers.indices { layers[index].zero() }
        }
    }

    /// Zero gradients for every layer.
    public func zeroGradients() -> Gradients {
        Gradients(layers: layers.map { $0.zeroGradients() })
    }

    /// What backward needs from each layer's training forward.
    public struct Cache: Sendable {
        let entries: [LayerCache]
        let inputShape: [Int]
        let outputShape: [Int]
    }

    enum LayerCache: Sendable {
        case conv2D(Conv2D.Cache)
        case conv2DTranspose(Conv2DTranspose.Cache)
        case maxPool2D(MaxPool2D.Cache)
        case reshape(Shape)
        case crop(Shape)
        case dense(Dense.Cache)
        case activation(Tensor)
        /// A Conv2D and the MaxPool2D after it, run fused (the pooling's entry is `.fused`).
        case convolutionPool(Conv2D.PooledCache)
        case fused
    }

    /// The pooling after layer `index` when it is a Conv2D followed by a
    /// MaxPool2D: the pair runs fused, never storing the convolution's
    /// full-resolution output.
    private func pooling(after index: Int) -> MaxPool2D? {
        guard case .conv2D = layers[index], index + 1 < layers.count, case .maxPool2D(let pool) = layers[index + 1] else {
            return nil
        }
        return pool
    }

    /// The output dimensions for an input of `dimensions` (batch first), or the
    /// error the first layer that cannot take it throws.
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        var current = dimensions
        for (index, layer) in layers.enumerated() {
            do {
                try layer.validateSizes()
                switch layer {
                case .conv2D(let l): current = try l.outputDimensions(forInput: current)
                case .conv2DTranspose(let l): current = try l.outputDimensions(forInput: current)
                case .maxPool2D(let l): current = try l.outputDimensions(forInput: current)
                case .flatten: current = [current.first ?? 0, current.dropFirst().reduce(1, *)]
                case .reshape(let d): current = try reshapedDimensions(current, d)
                case let .crop(h, w): current = try croppedDimensions(current, h, w)
                case .dense(let l):
                    guard current.last == l.inputSize, current.count >= 2 else {
                        throw RecurrentError.shapeMismatch(name: "Dense input", expected: [.any("batch..."), .size(l.inputSize)], actual: current)
                    }
                    current[current.count - 1] = l.outputSize
                case .activation: break
                case .spaceToDepth(let p): current = try patchedDimensions(current, p)
                case .depthToSpace(let p): current = try unpatchedDimensions(current, p)
                }
            } catch let error as RecurrentError {
                throw error.inLayer(index, layer.name)
            }
        }
        return current
    }

    /// The stack's output for `input` (batch first).
    public func forward(_ input: Tensor) throws -> Tensor {
        var x = input
        var skip = false
        for (index, layer) in layers.enumerated() {
            if skip { skip = false; continue }
            do {
                try layer.validateSizes()
                switch layer {
                case .conv2D(let l):
                    if let pool = pooling(after: index) {
                        x = try l.pooledInference(x, pool: pool)
                        skip = true
                    } else {
                        x = try l.forward(x)
                    }
                case .conv2DTranspose(let l): x = try l.forward(x)
                case .maxPool2D(let l): x = try l.forward(x)
                case .flatten: x = try Flatten().forward(x)
                case .reshape(let d): x = try x.reshaped(to: Shape(reshapedDimensions(x.dimensions, d)))
                case let .crop(h, w): x = try cropped(x, h, w)
                case .dense(let l): x = try l.forward(x)
                case .activation(let a): x = applied(a, x)
                case .spaceToDepth(let p): x = try patched(x, p)
                case .depthToSpace(let p): x = try unpatched(x, p)
                }
            } catch let error as RecurrentError {
                throw error.inLayer(index, layer.name)
            }
        }
        return x
    }

    /// ``forward(_:)`` keeping what backward needs.
    public func trainingForward(_ input: Tensor) throws -> (output: Tensor, cache: Cache) {
        var x = input
        var entries: [LayerCache] = []
        entries.reserveCapacity(layers.count)
        for (index, layer) in layers.enumerated() {
            if entries.count > index { continue }                     // the pooling of a fused pair
            do {
                try layer.validateSizes()
                switch layer {
                case .conv2D(let l):
                    if let pool = pooling(after: index) {
                        let (y, c) = try l.pooledForward(x, pool: pool); x = y
                        entries += [.convolutionPool(c), .fused]
                    } else {
                        let (y, c) = try l.trainingForward(x); x = y; entries.append(.conv2D(c))
                    }
                case .conv2DTranspose(let l):
                    let (y, c) = try l.trainingForward(x); x = y; entries.append(.conv2DTranspose(c))
                case .maxPool2D(let l):
                    let (y, c) = try l.trainingForward(x); x = y; entries.append(.maxPool2D(c))
                case .flatten:
                    entries.append(.reshape(x.shape)); x = try Flatten().forward(x)
                case .reshape(let d):
                    entries.append(.reshape(x.shape)); x = try x.reshaped(to: Shape(reshapedDimensions(x.dimensions, d)))
                case let .crop(h, w):
                    entries.append(.crop(x.shape)); x = try cropped(x, h, w)
                case .dense(let l):
                    let (y, c) = try l.trainingForward(x); x = y; entries.append(.dense(c))
                case .activation(let a):
                    x = applied(a, x); entries.append(.activation(x))
                case .spaceToDepth(let p):
                    entries.append(.reshape(x.shape)); x = try patched(x, p)
                case .depthToSpace(let p):
                    entries.append(.reshape(x.shape)); x = try unpatched(x, p)
                }
            } catch let error as RecurrentError {
                throw error.inLayer(index, layer.name)
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
        for index in layers.indices.reversed() {
            do {
                switch (layers[index], cache.entries[index], gradients.layers[index]) {
                case let (.conv2D(l), .conv2D(c), .conv2D(g)):
                    var g = g
                    delta = try l.backward(outputGradient: delta, cache: c, into: &g)
                    gradients.layers[index] = .conv2D(g)
                case let (.conv2D(l), .convolutionPool(c), .conv2D(g)):
                    var g = g
                    delta = try l.pooledBackward(outputGradient: delta, cache: c, into: &g)
                    gradients.layers[index] = .conv2D(g)
                case (.maxPool2D, .fused, .none):
                    break                                               // the Conv2D before it takes the pooled gradient
                case let (.conv2DTranspose(l), .conv2DTranspose(c), .conv2DTranspose(g)):
                    var g = g
                    delta = try l.backward(outputGradient: delta, cache: c, into: &g)
                    gradients.layers[index] = .conv2DTranspose(g)
                case let (.dense(l), .dense(c), .dense(g)):
                    var g = g
                    delta = try l.backward(outputGradient: delta, cache: c, into: &g)
                    gradients.layers[index] = .dense(g)
                case let (.maxPool2D(l), .maxPool2D(c), .none):
                    delta = try l.backward(outputGradient: delta, cache: c)
                case let (.flatten, .reshape(shape), .none), let (.reshape, .reshape(shape), .none):
                    delta = try delta.reshaped(to: shape)
                case let (.crop, .crop(shape), .none):
                    delta = try uncropped(delta, to: shape)
                case let (.activation(a), .activation(output), .none):
                    delta = try activationGradient(a, output: output, gradient: delta)
                case let (.spaceToDepth(p), .reshape(shape), .none):
                    // The gradient of a permutation is the inverse permutation; padding gets none.
                    try RecurrentError.requireShape(delta, try patchedDimensions(shape.dimensions, p), "SpaceToDepth output gradient")
                    delta = try p.invert(delta, height: shape.dimensions[1], width: shape.dimensions[2])
                case let (.depthToSpace(p), .reshape(shape), .none):
                    try RecurrentError.requireShape(delta, try unpatchedDimensions(shape.dimensions, p), "DepthToSpace output gradient")
                    delta = try p.apply(to: delta)
                default:
                    throw RecurrentError.cacheMismatch(reason: "entry \(index) of the cache or gradients is not from a \(layers[index].name)")
                }
            } catch let error as RecurrentError {
                throw error.inLayer(index, layers[index].name)
            }
        }
        return delta
    }
}

// MARK: - The parameter-free layers

/// The output dimensions of ``SequentialLayer/spaceToDepth(_:)`` for (B, H, W, C).
private func patchedDimensions(_ input: [Int], _ p: SpaceToDepth) throws -> [Int] {
    guard input.count == 4, let frame = try? FrameShape(height: input[1], width: input[2], channels: input[3]) else {
        throw RecurrentError.shapeMismatch(name: "SpaceToDepth input (batch, height, width, channels)",
                                           expected: [.any("batch"), .any("height"), .any("width"), .any("channels")], actual: input)
    }
    let patched = try p.patchedShape(of: frame)
    return [input[0], patched.height, patched.width, patched.channels]
}

/// The output dimensions of ``SequentialLayer/depthToSpace(_:)`` for (B, h, w, p * p * C).
private func unpatchedDimensions(_ input: [Int], _ p: SpaceToDepth) throws -> [Int] {
    let area = p.blockSize * p.blockSize
    guard input.count == 4, input[3] % area == 0, input[1] > 0, input[2] > 0, input[3] > 0 else {
        throw RecurrentError.shapeMismatch(name: "DepthToSpace input (batch, height, width, channels a multiple of \(area))",
                                           expected: [.any("batch"), .any("height"), .any("width"), .multiple(of: area, "channels")], actual: input)
    }
    return [input[0], input[1] * p.blockSize, input[2] * p.blockSize, input[3] / area]
}

private func patched(_ x: Tensor, _ p: SpaceToDepth) throws -> Tensor {
    _ = try patchedDimensions(x.dimensions, p)
    return try p.apply(to: x)
}

private func unpatched(_ x: Tensor, _ p: SpaceToDepth) throws -> Tensor {
    _ = try unpatchedDimensions(x.dimensions, p)
    return try p.invert(x)
}

/// `(B, ...)` reshaped to `(B, dimensions...)`.
private func reshapedDimensions(_ input: [Int], _ dimensions: [Int]) throws -> [Int] {
    let batch = input.first ?? 0
    let perSample = input.dropFirst().reduce(1, *)
    guard input.count >= 1, dimensions.reduce(1, *) == perSample else {
        throw RecurrentError.shapeMismatch(name: "Reshape input (batch, \(dimensions.reduce(1, *)) values per sample)",
                                           expected: ShapeRequirement(exactly: [batch] + dimensions), actual: input)
    }
    return [batch] + dimensions
}

private func croppedDimensions(_ input: [Int], _ height: Int, _ width: Int) throws -> [Int] {
    guard input.count == 4, input[1] >= height, input[2] >= width else {
        throw RecurrentError.shapeMismatch(name: "Crop input (batch, height >= \(height), width >= \(width), channels)",
                                           expected: [.any("batch"), .any("height >= \(height)"), .any("width >= \(width)"), .any("channels")],
                                           actual: input)
    }
    return [input[0], height, width, input[3]]
}

/// The top-left `height` x `width` pixels of (B, H, W, C) images.
private func cropped(_ x: Tensor, _ height: Int, _ width: Int) throws -> Tensor {
    let d = try croppedDimensions(x.dimensions, height, width)
    if d == x.dimensions { return x }
    let (rows, w, c) = (d[0] * height, x.dimensions[2], d[3])
    return try uninitializedTensor(Shape(d)) { y in
        x.withUnsafeBufferPointer { source in
            for r in 0 ..< rows {
                let (b, row) = r.quotientAndRemainder(dividingBy: height)
                let from = source.baseAddress! + ((b * x.dimensions[1] + row) * w) * c
                (y + r * width * c).update(from: from, count: width * c)
            }
        }
    }
}

/// The gradient of ``cropped(_:_:_:)``: `gradient` placed top-left in zeros of `shape`.
private func uncropped(_ gradient: Tensor, to shape: Shape) throws -> Tensor {
    let d = shape.dimensions
    let (height, width) = (gradient.dimensions[1], gradient.dimensions[2])
    try RecurrentError.requireShape(gradient, [d[0], height, width, d[3]], "Crop output gradient")
    if gradient.dimensions == d { return gradient }
    var result = try Tensor(shape: shape)
    result.withUnsafeMutableBufferPointer { y in
        gradient.withUnsafeBufferPointer { g in
            for r in 0 ..< d[0] * height {
                let (b, row) = r.quotientAndRemainder(dividingBy: height)
                (y.baseAddress! + ((b * d[1] + row) * d[2]) * d[3]).update(from: g.baseAddress! + r * width * d[3], count: width * d[3])
            }
        }
    }
    return result
}

func applied(_ activation: Activation, _ x: Tensor) -> Tensor {
    var y = x
    y.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count) }
    return y
}

func activationGradient(_ activation: Activation, output: Tensor, gradient: Tensor) throws -> Tensor {
    try RecurrentError.requireShape(gradient, output.dimensions, "Activation output gradient")
    var delta = gradient
    delta.withUnsafeMutableBufferPointer { d in
        output.withUnsafeBufferPointer { activation.backward(output: $0.baseAddress!, gradient: d.baseAddress!, count: d.count) }
    }
    return delta
}

extension RecurrentError {
    /// The same error, its subject prefixed with the layer's position in a stack.
    func inLayer(_ index: Int, _ name: String) -> RecurrentError {
        let prefix = "Layer \(index) (\(name)): "
        switch self {
        case let .invalidArgument(n, e, a): return .invalidArgument(name: prefix + n, expected: e, actual: a)
        case let .shapeMismatch(n, e, a): return .shapeMismatch(name: prefix + n, expected: e, actual: a)
        case let .cacheMismatch(reason): return .cacheMismatch(reason: prefix + reason)
        case let .nonFinite(n, index, value): return .nonFinite(name: prefix + n, index: index, value: value)
        case .missingParameter: return self
        }
    }
}

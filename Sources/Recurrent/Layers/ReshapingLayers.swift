import FrameSequencing

// Layers that move values without arithmetic (Keras's Reshape, Cropping2D,
// TensorFlow's space_to_depth and depth_to_space), their footprints for the
// memory planner, and the shape rules they share with Sequential's checks.

/// A layer that only moves values, with no parameters and no arithmetic
/// (``Reshape``, ``Crop``, `SpaceToDepth`, ``DepthToSpace``): what its
/// backward needs is the input's shape, which its training forward keeps.
public protocol RearrangingLayer: Layer where Cache == Shape, Gradients == NoGradients {}

extension RearrangingLayer {
    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Shape) {
        (try forward(input, context: context), input.shape)
    }
}

/// (B, ...) to (B, dimensions...) in row-major order, as Keras's `Reshape` (the
/// batch axis is not listed). No copy.
public struct Reshape: RearrangingLayer {
    /// The output's dimensions after the batch.
    public var dimensions: [Int]

    public init(_ dimensions: [Int]) { self.dimensions = dimensions }

    /// Throws `invalidArgument` unless every size is at least 1.
    func validate() throws {
        guard !dimensions.isEmpty, dimensions.allSatisfy({ $0 > 0 }) else {
            throw RecurrentError.invalidArgument(name: "Reshape dimensions", expected: "one or more sizes of at least 1",
                                                 actual: "\(dimensions)")
        }
    }

    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        try validate()
        return try reshapedDimensions(dimensions, self.dimensions)
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        try input.reshaped(to: Shape(outputDimensions(forInput: input.dimensions)))
    }

    public func backward(outputGradient: Tensor, cache: Shape, into gradients: inout NoGradients) throws -> Tensor {
        try RecurrentError.requireShape(outputGradient, try outputDimensions(forInput: cache.dimensions), "Reshape output gradient")
        return try outputGradient.reshaped(to: cache)
    }
}

/// (B, H, W, C) to (B, height, width, C): the top-left `height` x `width` pixels,
/// as Keras's `Cropping2D` with the whole crop at the bottom and right.
public struct Crop: RearrangingLayer {
    public var height: Int
    public var width: Int

    public init(height: Int, width: Int) { (self.height, self.width) = (height, width) }

    /// Throws `invalidArgument` unless both sizes are at least 1.
    func validate() throws { try RecurrentError.requirePositive((height, width), "Crop size") }

    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        try validate()
        return try croppedDimensions(dimensions, height, width)
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        try validate()
        return try cropped(input, height, width)
    }

    public func backward(outputGradient: Tensor, cache: Shape, into gradients: inout NoGradients) throws -> Tensor {
        try validate()
        try RecurrentError.requireShape(outputGradient, try croppedDimensions(cache.dimensions, height, width), "Crop output gradient")
        return try uncropped(outputGradient, to: cache)
    }
}

/// (B, H, W, C) to (B, ceil(H / p), ceil(W / p), p * p * C), zero-padded at the
/// bottom and right, as TensorFlow's `space_to_depth`.
extension SpaceToDepth: RearrangingLayer {

    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] { try patchedDimensions(dimensions, self) }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor { try patched(input, self) }

    /// The gradient of a permutation is the inverse permutation; the padding gets none.
    public func backward(outputGradient: Tensor, cache: Shape, into gradients: inout NoGradients) throws -> Tensor {
        try RecurrentError.requireShape(outputGradient, try patchedDimensions(cache.dimensions, self), "SpaceToDepth output gradient")
        return try invert(outputGradient, height: cache.dimensions[1], width: cache.dimensions[2])
    }
}

/// (B, h, w, p * p * C) to (B, h * p, w * p, C), TensorFlow's `depth_to_space`;
/// follow it with a ``Crop`` to drop a `SpaceToDepth`'s padding.
public struct DepthToSpace: RearrangingLayer {
    /// The patching this undoes.
    public var patching: SpaceToDepth

    public init(_ patching: SpaceToDepth) { self.patching = patching }

    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] { try unpatchedDimensions(dimensions, patching) }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor { try unpatched(input, patching) }

    public func backward(outputGradient: Tensor, cache: Shape, into gradients: inout NoGradients) throws -> Tensor {
        try RecurrentError.requireShape(outputGradient, try unpatchedDimensions(cache.dimensions, patching), "DepthToSpace output gradient")
        return try patching.apply(to: outputGradient)
    }
}

// MARK: - Footprints: a view costs nothing, a new tensor its output and its input gradient

/// A layer that writes a new output of `output` from an input of `input`: it keeps
/// the output (an activation's derivative reads it) and makes an input gradient.
private func copyFootprint(_ input: [Int], _ output: [Int]) -> ActivationFootprint {
    ActivationFootprint(outputDimensions: output, retainedBytes: floatBytes(output), backwardPeakBytes: floatBytes(input),
                        inferencePeakBytes: floatBytes(output), forwardFlops: Double(output.reduce(1, *)))
}

extension Flatten: FootprintEstimating {
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        .view(try outputDimensions(forInput: inputDimensions))
    }
}

extension Reshape: FootprintEstimating {
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        .view(try outputDimensions(forInput: inputDimensions))
    }
}

extension Crop: FootprintEstimating {
    /// A crop to the input's own size passes it on.
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        let output = try outputDimensions(forInput: inputDimensions)
        return output == inputDimensions ? .view(output) : copyFootprint(inputDimensions, output)
    }
}

extension Activation: FootprintEstimating {
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        copyFootprint(inputDimensions, inputDimensions)
    }
}

extension SpaceToDepth: FootprintEstimating {
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        copyFootprint(inputDimensions, try outputDimensions(forInput: inputDimensions))
    }
}

extension DepthToSpace: FootprintEstimating {
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        copyFootprint(inputDimensions, try outputDimensions(forInput: inputDimensions))
    }
}

// MARK: - The parameter-free layers

/// The output dimensions of `SpaceToDepth` for (B, H, W, C).
func patchedDimensions(_ input: [Int], _ p: SpaceToDepth) throws -> [Int] {
    guard input.count == 4, let frame = try? FrameShape(height: input[1], width: input[2], channels: input[3]) else {
        throw RecurrentError.shapeMismatch(name: "SpaceToDepth input (batch, height, width, channels)",
                                           expected: [.any("batch"), .any("height"), .any("width"), .any("channels")], actual: input)
    }
    let patched = try p.patchedShape(of: frame)
    return [input[0], patched.height, patched.width, patched.channels]
}

/// The output dimensions of ``DepthToSpace`` for (B, h, w, p * p * C).
func unpatchedDimensions(_ input: [Int], _ p: SpaceToDepth) throws -> [Int] {
    let area = p.blockSize * p.blockSize
    guard input.count == 4, input[3] % area == 0, input[1] > 0, input[2] > 0, input[3] > 0 else {
        throw RecurrentError.shapeMismatch(name: "DepthToSpace input (batch, height, width, channels a multiple of \(area))",
                                           expected: [.any("batch"), .any("height"), .any("width"), .multiple(of: area, "channels")], actual: input)
    }
    return [input[0], input[1] * p.blockSize, input[2] * p.blockSize, input[3] / area]
}

func patched(_ x: Tensor, _ p: SpaceToDepth) throws -> Tensor {
    _ = try patchedDimensions(x.dimensions, p)
    return try p.apply(to: x)
}

func unpatched(_ x: Tensor, _ p: SpaceToDepth) throws -> Tensor {
    _ = try unpatchedDimensions(x.dimensions, p)
    return try p.invert(x)
}

/// `(B, ...)` reshaped to `(B, dimensions...)`.
func reshapedDimensions(_ input: [Int], _ dimensions: [Int]) throws -> [Int] {
    let batch = input.first ?? 0
    let perSample = input.dropFirst().reduce(1, *)
    guard input.count >= 1, dimensions.reduce(1, *) == perSample else {
        throw RecurrentError.shapeMismatch(name: "Reshape input (batch, \(dimensions.reduce(1, *)) values per sample)",
                                           expected: ShapeRequirement(exactly: [batch] + dimensions), actual: input)
    }
    return [batch] + dimensions
}

func croppedDimensions(_ input: [Int], _ height: Int, _ width: Int) throws -> [Int] {
    guard input.count == 4, input[1] >= height, input[2] >= width else {
        throw RecurrentError.shapeMismatch(name: "Crop input (batch, height >= \(height), width >= \(width), channels)",
                                           expected: [.any("batch"), .any("height >= \(height)"), .any("width >= \(width)"), .any("channels")],
                                           actual: input)
    }
    return [input[0], height, width, input[3]]
}

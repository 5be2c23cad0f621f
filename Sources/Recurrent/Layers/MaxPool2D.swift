import FrameSequencing
internal import FrameSequencingRuntime

/// Max pooling over (batch, height, width, channels) images, Keras's
/// `MaxPooling2D` with `data_format="channels_last"`: each channel's maximum
/// over every window.
///
/// ```swift
/// let pool = try MaxPool2D(poolSize: (2, 2))
/// let (pooled, cache) = try pool.trainingForward(features)          // (B, H / 2, W / 2, C)
/// let dFeatures = try pool.backward(outputGradient: dPooled, cache: cache)
/// ```
///
/// Output sizes follow TensorFlow's rules (see ``Conv2D``): `valid` gives
/// `floor((in - pool) / stride) + 1`, `same` gives `ceil(in / stride)` with the
/// padding split as for a convolution. Padded positions never win a window.
/// Backward sends each output gradient to the first maximum of its window in
/// row-major order; a NaN in a window wins it.
public struct MaxPool2D: Sendable {
    /// Window height and width.
    public let poolSize: (height: Int, width: Int)
    /// Steps between windows.
    public let strides: (height: Int, width: Int)
    /// How windows meet the border (TensorFlow's rules, see the type's summary).
    public let padding: ConvolutionPadding

    /// A pooling layer; `strides` defaults to `poolSize` (non-overlapping windows).
    ///
    /// - Throws: `invalidArgument` for a pool size or stride below 1.
    public init(poolSize: (height: Int, width: Int), strides: (height: Int, width: Int)? = nil,
                padding: ConvolutionPadding = .valid) throws {
        try RecurrentError.requirePositive(poolSize, "MaxPool2D poolSize")
        try RecurrentError.requirePositive(strides ?? poolSize, "MaxPool2D strides")
        self.poolSize = poolSize
        self.strides = strides ?? poolSize
        self.padding = padding
    }

    /// The output shape (B, OH, OW, C) for an input of shape (B, H, W, C).
    ///
    /// - Throws: as ``forward(_:)`` does for a bad input shape.
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        let g = try geometry(dimensions)
        return [g.batch, g.outputHeight, g.outputWidth, g.channels]
    }

    func geometry(_ input: [Int]) throws -> ConvolutionGeometry {
        let g = try ConvolutionGeometry(layer: "MaxPool2D", input: input, channels: nil, kernel: poolSize,
                                        strides: strides, padding: padding)
        guard g.height * g.width <= Int(Int32.max) else {
            throw RecurrentError.invalidArgument(name: "MaxPool2D input", expected: "at most 2^31 - 1 pixels per image",
                                                 actual: "\(g.height) x \(g.width)")
        }
        return g
    }

    /// The winning pixel of every window (saved for backward).
    public struct Cache: Sendable {
        /// (B, OH, OW, C): `iy * W + ix` of each window's maximum within its image.
        let argmax: [Int32]
        /// (B, H, W, C) of the input.
        let inputShape: Shape
        /// (B, OH, OW, C) of the output.
        let outputDimensions: [Int]
        let geometry: ConvolutionGeometry
    }

    /// The maxima: (B, H, W, C) to (B, OH, OW, C).
    ///
    /// - Throws: `shapeMismatch` for an input that is not rank 4;
    ///   `invalidArgument` for a zero height, width or channel count, or
    ///   (padding `valid`) a window larger than the input.
    /// - Complexity: `O(B * OH * OW * KH * KW * C)`.
    public func forward(_ input: Tensor) throws -> Tensor {
        let g = try geometry(input.dimensions)
        let shape = Shape([g.batch, g.outputHeight, g.outputWidth, g.channels], names: ["batch", "height", "width", "channels"])
        return try maxPoolForwardKernel(input, geometry: g, shape: shape)
    }

    /// ``forward(_:)`` keeping the argmax of each window for backward.
    public func trainingForward(_ input: Tensor) throws -> (output: Tensor, cache: Cache) {
        let g = try geometry(input.dimensions)
        let dimensions = [g.batch, g.outputHeight, g.outputWidth, g.channels]
        let (output, argmax) = try maxPoolTrainingKernel(input, geometry: g, dimensions: dimensions)
        return (output, Cache(argmax: argmax, inputShape: input.shape, outputDimensions: dimensions, geometry: g))
    }

    /// Backward: dL/dinput (B, H, W, C), zero except at each window's maximum,
    /// which receives that window's output gradient (summed where windows overlap).
    ///
    /// - Throws: `shapeMismatch` for a gradient not of the output's shape,
    ///   `cacheMismatch` for a cache made by a layer of another configuration.
    public func backward(outputGradient: Tensor, cache: Cache) throws -> Tensor {
        guard (try? geometry(cache.inputShape.dimensions)) == cache.geometry else {
            throw RecurrentError.cacheMismatch(reason: "it was recorded by a MaxPool2D of another pool size, stride or padding")
        }
        try RecurrentError.requireShape(outputGradient, cache.outputDimensions, "MaxPool2D output gradient")
        return try maxPoolBackwardKernel(outputGradient: outputGradient, cache: cache)
    }
}

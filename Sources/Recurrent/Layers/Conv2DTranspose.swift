import FrameSequencing

/// A transposed 2-D convolution over (batch, height, width, channels) images,
/// Keras's `Conv2DTranspose` with `data_format="channels_last"`: the output is
/// the gradient with respect to its input of a ``Conv2D`` that maps the output
/// shape back to the input shape with the same kernel, strides, dilation and
/// padding, plus the bias, through the activation.
///
/// ```swift
/// let up = try Conv2DTranspose(inputChannels: 32, filters: 1, kernelSize: (3, 3), strides: (2, 2),
///                              padding: .same, activation: .sigmoid, seed: 2)
/// let frames = try up.forward(features)      // (B, 2 H, 2 W, 1)
/// ```
///
/// Output size along each axis, with the dilated kernel extent
/// `e = (k - 1) * dilation + 1` (Keras's `deconv_output_length`, no output padding):
/// - `valid`: `in * stride + max(e - stride, 0)`, that is `(in - 1) * stride + e`
///   when `e >= stride`;
/// - `same`: `in * stride`, the full output cropped as TensorFlow's
///   `conv2d_transpose` does: by the padding a `same` Conv2D of that output size
///   would use (the smaller half at the top and left).
///
/// Keras's `output_padding` is not supported: it picks other output sizes, with a
/// crop TensorFlow derives differently; pad or crop the output instead.
public struct Conv2DTranspose: Sendable {
    /// (kernel height, kernel width, filters, input channels): Keras's `kernel`,
    /// filters before input channels. Replace it with a tensor of the same shape only.
    public var kernel: Tensor
    /// (filters), or `nil` for a layer without bias.
    public var bias: Tensor?
    /// Applied to every output value after the bias.
    public var activation: Activation
    /// Channels of each input pixel (C).
    public let inputChannels: Int
    /// Channels of each output pixel (F).
    public let filters: Int
    /// Kernel taps along height and width (KH, KW).
    public let kernelSize: (height: Int, width: Int)
    /// Upsampling factors along height and width.
    public let strides: (height: Int, width: Int)
    /// Spacing between kernel taps (Keras's `dilation_rate`).
    public let dilation: (height: Int, width: Int)
    /// How windows meet the border (TensorFlow's rules, see the type's summary).
    public let padding: ConvolutionPadding

    /// A layer with Keras's default initialization, seeded: the kernel
    /// Glorot-uniform with `fanIn = KH * KW * F`, `fanOut = KH * KW * C` (Keras
    /// reads the fans from the kernel's last two axes), the bias zero.
    ///
    /// - Throws: `invalidArgument` for a size, stride or dilation below 1.
    public init(
        inputChannels: Int, filters: Int, kernelSize: (height: Int, width: Int),
        strides: (height: Int, width: Int) = (1, 1), dilation: (height: Int, width: Int) = (1, 1),
        padding: ConvolutionPadding = .valid, useBias: Bool = true, activation: Activation = .linear,
        seed: UInt64 = 0
    ) throws {
        try RecurrentError.requirePositive(inputChannels, "Conv2DTranspose inputChannels")
        try RecurrentError.requirePositive(filters, "Conv2DTranspose filters")
        try RecurrentError.requirePositive(kernelSize, "Conv2DTranspose kernelSize")
        let kernel = try glorotUniform([kernelSize.height, kernelSize.width, filters, inputChannels], seed: seed)
        try self.init(kernel: kernel, bias: useBias ? try Tensor(shape: [filters]) : nil, strides: strides,
                      dilation: dilation, padding: padding, activation: activation)
    }

    /// A layer holding Keras `Conv2DTranspose` weights: `kernel` (KH, KW, F, C)
    /// and `bias` (F) or `nil`.
    ///
    /// - Throws: `shapeMismatch` for a kernel that is not rank 4 or a bias that is
    ///   not (F); `invalidArgument` for a zero kernel axis, stride or dilation.
    public init(
        kernel: Tensor, bias: Tensor?, strides: (height: Int, width: Int) = (1, 1),
        dilation: (height: Int, width: Int) = (1, 1), padding: ConvolutionPadding = .valid,
        activation: Activation = .linear
    ) throws {
        guard kernel.shape.rank == 4, kernel.count > 0 else {
            throw RecurrentError.shapeMismatch(name: "Conv2DTranspose kernel (height, width, filters, inputChannels)",
                                               expected: [.any("height"), .any("width"), .any("filters"), .any("inputChannels")],
                                               actual: kernel.dimensions)
        }
        try RecurrentError.requirePositive(strides, "Conv2DTranspose strides")
        try RecurrentError.requireExtent(kernel: kernel.dimensions, dilation: dilation, "Conv2DTranspose dilation")
        let d = kernel.dimensions
        if let bias { try RecurrentError.requireShape(bias, [d[2]], "Conv2DTranspose bias") }
        self.kernel = kernel
        self.bias = bias
        self.activation = activation
        self.kernelSize = (d[0], d[1])
        self.filters = d[2]
        self.inputChannels = d[3]
        self.strides = strides
        self.dilation = dilation
        self.padding = padding
    }

    /// Whether the layer adds a bias.
    public var useBias: Bool { bias != nil }

    /// The output shape (B, OH, OW, F) for an input of shape (B, H, W, C).
    ///
    /// - Throws: as ``forward(_:)`` does for a bad input shape.
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        let g = try geometry(dimensions)
        return [g.batch, g.height, g.width, filters]
    }

    /// The geometry of the Conv2D this layer transposes: its image side is this
    /// layer's output (B, OH, OW, F), its patch grid this layer's input (H, W).
    func geometry(_ input: [Int]) throws -> ConvolutionGeometry {
        guard input.count == 4, input[3] == inputChannels else {
            throw RecurrentError.shapeMismatch(name: "Conv2DTranspose input (batch, height, width, channels)",
                                               expected: [.any("batch"), .any("height"), .any("width"), .size(inputChannels)], actual: input)
        }
        guard input[1] > 0, input[2] > 0 else {
            throw RecurrentError.invalidArgument(name: "Conv2DTranspose input", expected: "a height and width of at least 1",
                                                 actual: "shape \(input)")
        }
        func length(_ size: Int, _ kernel: Int, _ stride: Int, _ dilation: Int) throws -> Int {
            let extent = (kernel - 1) * dilation + 1
            let (scaled, overflow) = size.multipliedReportingOverflow(by: stride)
            guard !overflow, scaled <= Int.max - extent else {
                throw RecurrentError.invalidArgument(name: "Conv2DTranspose output size", expected: "a size that fits in Int",
                                                     actual: "\(size) x stride \(stride)")
            }
            return padding == .same ? scaled : scaled + max(extent - stride, 0)
        }
        let outputHeight = try length(input[1], kernelSize.height, strides.height, dilation.height)
        let outputWidth = try length(input[2], kernelSize.width, strides.width, dilation.width)
        let g = try ConvolutionGeometry(layer: "Conv2DTranspose", input: [input[0], outputHeight, outputWidth, filters],
                                        channels: filters, kernel: kernelSize, strides: strides, dilation: dilation,
                                        padding: padding)
        precondition(g.outputHeight == input[1] && g.outputWidth == input[2],
                     "Conv2DTranspose: the output size does not invert to the input size")
        return g
    }

    /// Throws unless `kernel` and `bias` still have the layer's shapes.
    func validateParameters() throws {
        try RecurrentError.requireShape(kernel, [kernelSize.height, kernelSize.width, filters, inputChannels],
                                        "Conv2DTranspose kernel")
        if let bias { try RecurrentError.requireShape(bias, [filters], "Conv2DTranspose bias") }
    }

    /// The input and output of a training forward pass (saved for backward).
    public struct Cache: Sendable {
        /// (B, H, W, C).
        let input: Tensor
        /// (B, OH, OW, F), after the activation.
        let output: Tensor
        let geometry: ConvolutionGeometry
    }

    /// Gradients of `kernel` (KH, KW, F, C) and `bias` (F), accumulated by backward.
    public struct Gradients: Sendable, Equatable {
        /// dL/dkernel, the kernel's shape.
        public var kernel: Tensor
        /// dL/dbias (F), or `nil` for a layer without bias.
        public var bias: Tensor?
        /// Sets every gradient to zero.
        public mutating func zero() {
            kernel.fill(with: 0)
            bias?.fill(with: 0)
        }
    }

    /// Zero gradients of this layer's shapes.
    public func zeroGradients() -> Gradients {
        Gradients(kernel: try! Tensor(shape: [kernelSize.height, kernelSize.width, filters, inputChannels]),
                  bias: useBias ? try! Tensor(shape: [filters]) : nil)
    }

    /// The transposed convolution: (B, H, W, C) to (B, OH, OW, F).
    ///
    /// - Throws: `shapeMismatch` for an input that is not rank 4 with C
    ///   channels; `invalidArgument` for a zero height or width.
    /// - Complexity: `2 * B * H * W * KH * KW * F * C` flops.
    public func forward(_ input: Tensor) throws -> Tensor {
        try run(input).output
    }

    /// ``forward(_:)`` keeping what backward needs.
    public func trainingForward(_ input: Tensor) throws -> (output: Tensor, cache: Cache) {
        let (output, g) = try run(input)
        return (output, Cache(input: input, output: output, geometry: g))
    }

    private func run(_ input: Tensor) throws -> (output: Tensor, geometry: ConvolutionGeometry) {
        try validateParameters()
        let g = try geometry(input.dimensions)
        let shape = Shape([g.batch, g.height, g.width, filters], names: ["batch", "height", "width", "filters"])
        let output = try conv2DTransposeForwardKernel(input, geometry: g, shape: shape)
        return (output, g)
    }

    /// Backward of `L = sum(output * outputGradient)`: accumulates dL/dkernel and
    /// dL/dbias into `gradients` and returns dL/dinput (B, H, W, C), a Conv2D
    /// of the output gradient with this kernel.
    ///
    /// - Throws: `shapeMismatch` for gradients of the wrong shape, `cacheMismatch`
    ///   for a cache made by a layer of another configuration.
    public func backward(outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws -> Tensor {
        try validateParameters()
        guard (try? geometry(cache.input.dimensions)) == cache.geometry else {
            throw RecurrentError.cacheMismatch(
                reason: "it was recorded by a Conv2DTranspose of another kernel, stride, dilation or padding")
        }
        try RecurrentError.requireShape(outputGradient, cache.output.dimensions, "Conv2DTranspose output gradient")
        try RecurrentError.requireShape(gradients.kernel, kernel.dimensions, "Conv2DTranspose kernel gradient")
        try requireMatchingBias(gradients.bias, bias, "Conv2DTranspose bias gradient")
        return try conv2DTransposeBackwardKernel(outputGradient: outputGradient, cache: cache, into: &gradients)
    }
}

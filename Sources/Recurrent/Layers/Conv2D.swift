import FrameSequencing

/// How a convolution or pooling window treats the image border, by TensorFlow's
/// rules (Keras's `padding`); see ``Conv2D`` for the sizes.
public enum ConvolutionPadding: String, Sendable, Hashable, CaseIterable {
    /// No padding: windows lie entirely inside the image.
    case valid
    /// Zero padding so the output has `ceil(input / stride)` positions, the odd
    /// row or column of padding after the image.
    case same
}

/// A 2-D convolution over (batch, height, width, channels) images, Keras's
/// `Conv2D` with `data_format="channels_last"`:
/// `output = activation(correlate(input, kernel) + bias)`.
///
/// ```swift
/// let conv = try Conv2D(inputChannels: 1, filters: 32, kernelSize: (3, 3), padding: .same,
///                       activation: .relu, seed: 1)
/// let (features, cache) = try conv.trainingForward(frames)       // (B, H, W, 32)
/// var gradients = conv.zeroGradients()
/// let dFrames = try conv.backward(outputGradient: dFeatures, cache: cache, into: &gradients)
/// ```
///
/// Output size along each axis, with the dilated kernel extent
/// `e = (k - 1) * dilation + 1` (TensorFlow's rules):
/// - `valid`: `floor((in - e) / stride) + 1`; `in < e` throws.
/// - `same`: `ceil(in / stride)`, zero padding of
///   `max((out - 1) * stride + e - in, 0)` split with the smaller half before.
///
/// Strides above 1 together with dilation above 1 are computed (as PyTorch
/// does), although Keras refuses that combination.
///
/// Computed as one matrix product: the input's patches [B * OH * OW, KH * KW * C]
/// times the kernel read as [KH * KW * C, F]. Backward recomputes the patches
/// from the saved input rather than keeping them.
public struct Conv2D: Sendable {
    /// (kernel height, kernel width, input channels, filters): Keras's `kernel`.
    /// Replace it with a tensor of the same shape only.
    public var kernel: Tensor
    /// (filters): Keras's `bias`; `nil` for a layer without bias (`use_bias=False`).
    public var bias: Tensor?
    /// Applied to every output value after the bias.
    public var activation: Activation
    /// Channels of each input pixel (C).
    public let inputChannels: Int
    /// Channels of each output pixel (F).
    public let filters: Int
    /// Kernel taps along height and width (KH, KW).
    public let kernelSize: (height: Int, width: Int)
    /// Steps between windows along height and width.
    public let strides: (height: Int, width: Int)
    /// Spacing between kernel taps (Keras's `dilation_rate`); 1 is adjacent.
    public let dilation: (height: Int, width: Int)
    /// How windows meet the border (TensorFlow's rules, see the type's summary).
    public let padding: ConvolutionPadding

    /// A layer with Keras's default initialization, seeded: the kernel
    /// Glorot-uniform in `±sqrt(6 / (fanIn + fanOut))` with `fanIn = KH * KW * C`
    /// and `fanOut = KH * KW * F`, the bias zero.
    ///
    /// - Throws: `invalidArgument` for a size, stride or dilation below 1.
    public init(
        inputChannels: Int, filters: Int, kernelSize: (height: Int, width: Int),
        strides: (height: Int, width: Int) = (1, 1), dilation: (height: Int, width: Int) = (1, 1),
        padding: ConvolutionPadding = .valid, useBias: Bool = true, activation: Activation = .linear,
        seed: UInt64 = 0
    ) throws {
        try RecurrentError.requirePositive(inputChannels, "Conv2D inputChannels")
        try RecurrentError.requirePositive(filters, "Conv2D filters")
        try RecurrentError.requirePositive(kernelSize, "Conv2D kernelSize")
        let kernel = try glorotUniform([kernelSize.height, kernelSize.width, inputChannels, filters], seed: seed)
        try self.init(kernel: kernel, bias: useBias ? try Tensor(shape: [filters]) : nil, strides: strides,
                      dilation: dilation, padding: padding, activation: activation)
    }

    /// A layer holding Keras `Conv2D` weights: `kernel` (KH, KW, C, F) and
    /// `bias` (F) or `nil`.
    ///
    /// - Throws: `shapeMismatch` for a kernel that is not rank 4 or a bias that is
    ///   not (F); `invalidArgument` for a zero kernel axis, stride or dilation.
    public init(
        kernel: Tensor, bias: Tensor?, strides: (height: Int, width: Int) = (1, 1),
        dilation: (height: Int, width: Int) = (1, 1), padding: ConvolutionPadding = .valid,
        activation: Activation = .linear
    ) throws {
        guard kernel.shape.rank == 4, kernel.count > 0 else {
            throw RecurrentError.shapeMismatch(name: "Conv2D kernel (height, width, inputChannels, filters)",
                                               expected: [.any("height"), .any("width"), .any("inputChannels"), .any("filters")],
                                               actual: kernel.dimensions)
        }
        try RecurrentError.requirePositive(strides, "Conv2D strides")
        try RecurrentError.requireExtent(kernel: kernel.dimensions, dilation: dilation, "Conv2D dilation")
        let d = kernel.dimensions
        if let bias { try RecurrentError.requireShape(bias, [d[3]], "Conv2D bias") }
        self.kernel = kernel
        self.bias = bias
        self.activation = activation
        self.kernelSize = (d[0], d[1])
        self.inputChannels = d[2]
        self.filters = d[3]
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
        return [g.batch, g.outputHeight, g.outputWidth, filters]
    }

    func geometry(_ input: [Int]) throws -> ConvolutionGeometry {
        try ConvolutionGeometry(layer: "Conv2D", input: input, channels: inputChannels, kernel: kernelSize,
                                strides: strides, dilation: dilation, padding: padding)
    }

    /// Throws unless `kernel` and `bias` still have the layer's shapes.
    func validateParameters() throws {
        try RecurrentError.requireShape(kernel, [kernelSize.height, kernelSize.width, inputChannels, filters],
                                        "Conv2D kernel")
        if let bias { try RecurrentError.requireShape(bias, [filters], "Conv2D bias") }
    }

    /// The input and output of a training forward pass (saved for backward).
    public struct Cache: Sendable {
        /// (B, H, W, C).
        let input: Tensor
        /// (B, OH, OW, F), after the activation.
        let output: Tensor
        let geometry: ConvolutionGeometry
    }

    /// Gradients of `kernel` (KH, KW, C, F) and `bias` (F), accumulated by backward.
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
        Gradients(kernel: try! Tensor(shape: [kernelSize.height, kernelSize.width, inputChannels, filters]),
                  bias: useBias ? try! Tensor(shape: [filters]) : nil)
    }

    /// `activation(conv(input, kernel) + bias)`: (B, H, W, C) to (B, OH, OW, F).
    ///
    /// - Throws: `shapeMismatch` for an input that is not rank 4 with C
    ///   channels; `invalidArgument` for a zero height or width, or (padding
    ///   `valid`) a dilated kernel larger than the input.
    /// - Complexity: `2 * B * OH * OW * KH * KW * C * F` flops; a workspace of
    ///   about 128K floats per slab of images.
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
        let shape = Shape([g.batch, g.outputHeight, g.outputWidth, filters], names: ["batch", "height", "width", "filters"])
        let output = try conv2DForwardKernel(input, geometry: g, shape: shape)
        return (output, g)
    }

    /// Backward of `L = sum(output * outputGradient)`: accumulates dL/dkernel and
    /// dL/dbias into `gradients` and returns dL/dinput (B, H, W, C).
    ///
    /// - Parameters:
    ///   - outputGradient: (B, OH, OW, F), the shape of the forward output.
    ///   - cache: from ``trainingForward(_:)`` of a layer of this configuration.
    ///   - gradients: the kernel's and bias's gradients, added to.
    /// - Throws: `shapeMismatch` for gradients of the wrong shape, `cacheMismatch`
    ///   for a cache made by a layer of another configuration.
    public func backward(outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws -> Tensor {
        try RecurrentError.requireShape(outputGradient, cache.output.dimensions, "Conv2D output gradient")
        return try backward(input: cache.input, geometry: cache.geometry, into: &gradients,
                            withDelta: activatedOutputDelta(output: cache.output, gradient: outputGradient))
    }

    /// The backward pass shared with the fused pooling: checks the layer, the
    /// recorded geometry and the gradients, then runs `convolutionBackward` with
    /// the delta `withDelta` hands to its body (valid during that call only).
    func backward(input: Tensor, geometry recorded: ConvolutionGeometry, into gradients: inout Gradients,
                  withDelta: ((ConvolutionDelta) -> Void) -> Void) throws -> Tensor {
        try validateParameters()
        guard (try? geometry(input.dimensions)) == recorded else {
            throw RecurrentError.cacheMismatch(reason: "it was recorded by a Conv2D of another kernel, stride, dilation or padding")
        }
        try RecurrentError.requireShape(gradients.kernel, kernel.dimensions, "Conv2D kernel gradient")
        try requireMatchingBias(gradients.bias, bias, "Conv2D bias gradient")
        return try conv2DBackwardKernel(input: input, geometry: recorded, into: &gradients, withDelta: withDelta)
    }
}

// MARK: - Shared by the convolution and pooling layers

extension ConvolutionGeometry {
    /// The geometry of a window of `kernel` taps sliding over `input`
    /// (B, H, W, C) under TensorFlow's rules.
    ///
    /// - Throws: `shapeMismatch` naming `layer` for an input that is not rank 4 or
    ///   whose channels differ from `channels` (any channel count when nil);
    ///   `invalidArgument` for a zero height or width, or (padding `valid`) a
    ///   dilated kernel larger than the input.
    init(layer: String, input: [Int], channels: Int?, kernel: (height: Int, width: Int),
         strides: (height: Int, width: Int), dilation: (height: Int, width: Int) = (1, 1),
         padding: ConvolutionPadding) throws {
        guard input.count == 4, channels == nil || input[3] == channels else {
            let lastAxis: ShapeRequirement.Axis = channels.map { .size($0) } ?? .any("channels")
            throw RecurrentError.shapeMismatch(name: "\(layer) input (batch, height, width, channels)",
                                               expected: [.any("batch"), .any("height"), .any("width"), lastAxis], actual: input)
        }
        guard input[1] > 0, input[2] > 0, input[3] > 0 else {
            throw RecurrentError.invalidArgument(name: "\(layer) input", expected: "a height, width and channel count of at least 1",
                                                 actual: "shape \(input)")
        }
        let rows = convolutionAxis(input: input[1], kernel: kernel.height, stride: strides.height,
                                   dilation: dilation.height, padding: padding)
        let columns = convolutionAxis(input: input[2], kernel: kernel.width, stride: strides.width,
                                      dilation: dilation.width, padding: padding)
        guard rows.length > 0, columns.length > 0 else {
            let extent = ((kernel.height - 1) * dilation.height + 1, (kernel.width - 1) * dilation.width + 1)
            throw RecurrentError.invalidArgument(
                name: "\(layer) window for padding valid",
                expected: "a dilated window no larger than the \(input[1]) x \(input[2]) input",
                actual: "\(extent.0) x \(extent.1) (kernel \(kernel.height) x \(kernel.width), dilation \(dilation.height) x \(dilation.width)); use padding same or a smaller kernel")
        }
        self.init(batch: input[0], height: input[1], width: input[2], channels: input[3],
                  kernelHeight: kernel.height, kernelWidth: kernel.width,
                  strideHeight: strides.height, strideWidth: strides.width,
                  dilationHeight: dilation.height, dilationWidth: dilation.width,
                  padTop: rows.padBefore, padLeft: columns.padBefore,
                  outputHeight: rows.length, outputWidth: columns.length)
    }
}

extension RecurrentError {
    /// Throws `invalidArgument` unless both sizes of a (height, width) pair are positive.
    static func requirePositive(_ pair: (height: Int, width: Int), _ name: String) throws {
        guard pair.height > 0 && pair.width > 0 else {
            throw RecurrentError.invalidArgument(name: name, expected: "a height and width of at least 1",
                                                 actual: "(\(pair.height), \(pair.width))")
        }
    }
}

extension RecurrentError {
    /// Throws `invalidArgument` unless `dilation` is positive and the dilated
    /// extent `(k - 1) * dilation + 1` of the kernel's first two axes fits in `Int`.
    static func requireExtent(kernel: [Int], dilation: (height: Int, width: Int), _ name: String) throws {
        try requirePositive(dilation, name)
        for (k, d) in [(kernel[0], dilation.height), (kernel[1], dilation.width)] {
            let (span, overflow) = (k - 1).multipliedReportingOverflow(by: d)
            guard !overflow, span < Int.max / 2 else {
                throw RecurrentError.invalidArgument(name: name, expected: "a dilated kernel extent that fits in Int",
                                                     actual: "kernel \(k) with dilation \(d)")
            }
        }
    }
}

/// Throws `shapeMismatch` unless `gradient` is present with the shape of
/// `parameter` exactly when `parameter` is.
func requireMatchingBias(_ gradient: Tensor?, _ parameter: Tensor?, _ name: String) throws {
    guard (gradient == nil) == (parameter == nil) else {
        throw RecurrentError.shapeMismatch(name: name, expected: ShapeRequirement(exactly: parameter?.dimensions ?? []),
                                           actual: gradient?.dimensions ?? [])
    }
    if let gradient, let parameter { try RecurrentError.requireShape(gradient, parameter.dimensions, name) }
}

import FrameSequencing

/// What ``Conv2D`` and ``Conv2DTranspose`` share: a kernel in Keras's layout,
/// an optional bias, and passes of their own. Conforming gives a layer its
/// ``Layer`` passes with a context, its ``Trainable`` parameters (`kernel`,
/// then `bias`) and PyTorch weight conversion, with no kernel flip (both
/// frameworks compute a cross-correlation):
///
///     nn.Conv2d.weight           (F, C, KH, KW)  <->  Conv2D kernel          (KH, KW, C, F)
///     nn.ConvTranspose2d.weight  (C, F, KH, KW)  <->  Conv2DTranspose kernel (KH, KW, F, C)
public protocol ConvolutionLayer: Layer where Gradients: ConvolutionGradients {
    /// The kernel, (KH, KW, in, out) in Keras's layout.
    var kernel: Tensor { get set }
    /// The bias (F), or `nil` for a layer without bias.
    var bias: Tensor? { get set }
    /// PyTorch's name for the layer's weight and its axes, for errors:
    /// "PyTorch Conv2d weight (filters, inputChannels, height, width)".
    static var pytorchWeightName: String { get }

    /// A layer holding Keras weights.
    init(kernel: Tensor, bias: Tensor?, strides: (height: Int, width: Int), dilation: (height: Int, width: Int),
         padding: ConvolutionPadding, activation: Activation) throws

    /// The output for `input` (B, H, W, C).
    func forward(_ input: Tensor) throws -> Tensor
    /// ``forward(_:)`` keeping what backward needs.
    func trainingForward(_ input: Tensor) throws -> (output: Tensor, cache: Cache)
}

/// A convolution layer's gradients: the kernel's and the bias's, in the
/// layer's parameter order.
public protocol ConvolutionGradients: GradientSet {
    /// dL/dkernel, the kernel's shape.
    var kernel: Tensor { get }
    /// dL/dbias (F), or `nil` for a layer without bias.
    var bias: Tensor? { get }
}

extension ConvolutionGradients {
    public var tensors: [Tensor] { [kernel] + (bias.map { [$0] } ?? []) }
}

extension ConvolutionLayer {
    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor { try forward(input) }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        try trainingForward(input)
    }

    /// `kernel` and, with a bias, `bias` (Keras's names).
    public var namedParameters: [(name: String, tensor: Tensor)] {
        [("kernel", kernel)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows {
        try body(0, &kernel)
        if bias != nil { try body(1, &bias!) }
    }
}

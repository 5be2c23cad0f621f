import FrameSequencing

// Keras's convolution weights are the layers' own (`kernel`, `bias`); PyTorch's
// kernels are channels-first and converted here, with no kernel flip (see
// ``ConvolutionLayer`` for both layouts).

extension ConvolutionLayer {
    /// A layer holding PyTorch weights: `weight` in PyTorch's layout (see
    /// ``ConvolutionLayer``) and `bias` (F) or `nil` (`bias=False`). Groups other
    /// than 1 and `nn.ConvTranspose2d`'s `output_padding` are not supported.
    ///
    /// PyTorch's integer `padding=p` is symmetric. For `nn.Conv2d` it equals
    /// `.same` for stride 1 and an odd dilated extent with p = (e - 1) / 2, and
    /// `.valid` for p = 0 (`padding='same'`, stride 1 only, is `.same`). For
    /// `nn.ConvTranspose2d`, `padding=0` is `.valid` when the dilated kernel is at
    /// least the stride on each axis, and `padding=(e - s) / 2` with `e - s` even
    /// (kernel 4, stride 2, padding 1) is `.same`; other paddings give other sizes
    /// or values (tested against PyTorch in PyTorchLayerInteropTests).
    ///
    /// - Throws: `shapeMismatch` for a weight that is not rank 4 or a bias that is
    ///   not (F); the errors of the layer's `init(kernel:bias:...)`.
    public init(
        pytorchWeight weight: Tensor, bias: Tensor?, strides: (height: Int, width: Int) = (1, 1),
        dilation: (height: Int, width: Int) = (1, 1), padding: ConvolutionPadding = .valid,
        activation: Activation = .linear
    ) throws {
        let kernel = try weight.permuted4D([2, 3, 1, 0], name: Self.pytorchWeightName)
        try self.init(kernel: kernel, bias: bias, strides: strides, dilation: dilation, padding: padding, activation: activation)
    }

    /// The kernel in PyTorch's layout (see ``ConvolutionLayer``); the bias needs
    /// no conversion.
    public func pytorchWeight() throws -> Tensor {
        try kernel.permuted4D([3, 2, 0, 1], name: "\(Self.self) kernel")
    }
}

extension Tensor {
    /// A copy of a rank-4 tensor with its axes reordered: axis `i` of the result
    /// is axis `order[i]` of `self`.
    ///
    /// - Throws: `shapeMismatch` naming `name` for a tensor that is not rank 4.
    func permuted4D(_ order: [Int], name: String) throws -> Tensor {
        guard shape.rank == 4 else {
            throw RecurrentError.shapeMismatch(name: name, expected: [.any("any"), .any("any"), .any("any"), .any("any")], actual: dimensions)
        }
        let source = dimensions
        let sourceStrides = [source[1] * source[2] * source[3], source[2] * source[3], source[3], 1]
        let target = order.map { source[$0] }
        let strides = order.map { sourceStrides[$0] }   // source step per result axis
        let values = scalars
        var result = [Float](repeating: 0, count: count)
        var i = 0
        for a in 0 ..< target[0] { for b in 0 ..< target[1] { for c in 0 ..< target[2] { for d in 0 ..< target[3] {
            result[i] = values[a * strides[0] + b * strides[1] + c * strides[2] + d * strides[3]]
            i += 1
        } } } }
        return try Tensor(shape: Shape(target), scalars: result)
    }
}

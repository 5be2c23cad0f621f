import FrameSequencing

/// A convolutional LSTM over sequences of frames (batch, timesteps, height,
/// width, channels), Keras's `ConvLSTM2D` with `data_format="channels_last"`
/// (Shi et al., 2015), with optional peephole connections.
///
/// ```swift
/// let layer = try ConvLSTM2D(inputChannels: 1, filters: 16, kernelSize: (3, 3), padding: .same, seed: 1)
/// let result = try layer.forward(frames)                  // (B, T, H, W, 16) and (h, c)
/// let (train, cache) = try layer.trainingForward(frames, lengths: [5, 3])
/// var gradients = layer.zeroGradients()
/// let dInputs = try layer.backward(outputGradient: g, cache: cache, into: &gradients)
/// ```
///
/// Each timestep, with `*` a convolution and `∘` an element-wise product (gate
/// order input, forget, cell, output everywhere):
///
///     z = kernel * x_t + recurrentKernel * h_{t-1} + bias          (B, H', W', 4F)
///     i = sigmoid(z_i + W_ci ∘ c_{t-1}),  f = sigmoid(z_f + W_cf ∘ c_{t-1})
///     c_t = f ∘ c_{t-1} + i ∘ tanh(z_c)
///     o = sigmoid(z_o + W_co ∘ c_t),      h_t = o ∘ tanh(c_t)
///
/// The peephole terms (`W_c*`, each (H', W', F)) are present only when the layer
/// has ``peepholes``; without them this is Keras's layer number for number.
///
/// The input convolution uses ``strides``, ``padding`` and ``dilation`` with
/// TensorFlow's rules (see ``Conv2D``), giving the state grid H' x W'. The
/// recurrent convolution runs on the (H', W', F) state with stride 1, dilation 1
/// and padding `same`; for an even kernel the extra row or column of padding
/// goes after, as in TensorFlow.
///
/// Weights are stored in Keras's layout: ``kernel`` (KH, KW, C, 4F),
/// ``recurrentKernel`` (KH, KW, F, 4F), ``bias`` (4F).
public struct ConvLSTM2D: Sendable {
    /// (KH, KW, C, 4F): Keras's `kernel`, the input convolution, gate blocks i, f, c, o.
    /// Replace it with a tensor of the same shape only.
    public var kernel: Tensor
    /// (KH, KW, F, 4F): Keras's `recurrent_kernel`, the state convolution.
    public var recurrentKernel: Tensor
    /// (4F): Keras's `bias`.
    public var bias: Tensor
    /// The peephole weights (Shi et al.'s `W_ci`, `W_cf`, `W_co`), or `nil` for
    /// Keras's layer without them.
    public var peepholes: ConvLSTMPeepholes?
    /// The very large scratch buffers of training (record, gate gradients),
    /// reused from step to step; shared by this layer's copies, released with them.
    var buffers = BufferPool()
    /// Channels of each input pixel (C).
    public let inputChannels: Int
    /// Channels of the state and output (F).
    public let filters: Int
    /// Kernel taps along height and width (KH, KW), for both convolutions.
    public let kernelSize: (height: Int, width: Int)
    /// Steps between windows of the input convolution.
    public let strides: (height: Int, width: Int)
    /// Spacing between kernel taps of the input convolution (Keras's `dilation_rate`).
    public let dilation: (height: Int, width: Int)
    /// How the input convolution meets the border (the recurrent one is always `same`).
    public let padding: ConvolutionPadding
    /// Keras's `go_backwards`: the sequence is processed from its last timestep
    /// to its first, and the output is in processing order (output step `s`
    /// belongs to input timestep `T - 1 - s`), as Keras returns it. Running a
    /// reversed layer equals running the forward layer on the time-reversed input.
    public let isReversed: Bool
    /// What a padded step outputs (see ``MaskedOutput``): zero by default;
    /// ``MaskedOutput/lastValid`` for Keras's default (`zero_output_for_mask=False`).
    /// Applies to the returned sequence, in processing order; the last-step
    /// output is always each sequence's final hidden state. Not a weight.
    public var maskedOutput: MaskedOutput = .zero
    /// What ``trainingForward(_:initialState:lengths:returnSequences:)`` keeps
    /// for backward (``Recomputation/none`` by default). Not a weight: two layers
    /// that differ only here compute the same numbers.
    ///
    /// Bytes kept per layer from the training forward to backward, with B
    /// sequences, T timesteps, P = H' * W' state pixels, F filters, 4-byte floats
    /// (`recordBytes(batch:timesteps:pixels:filters:recomputation:)`):
    ///
    ///     .none:               4 * B * T * P * 6F          (gates 4F, c_t and h_t per row)
    ///     .keepStatesEvery(k): 4 * (S - 1) * B * P * 2F,  S = ceil(T / k)   ((h, c) per kept state)
    ///
    /// and the largest buffers of the time loops while backward runs (also
    /// during the training forward with recomputation), on top of that
    /// (`timeLoopBytes(batch:timesteps:pixels:filters:recomputation:)`):
    ///
    ///     .none:               4 * B * T * P * 4F          (dz of every row)
    ///     .keepStatesEvery(k): 4 * B * K * P * 10F,  K = min(k, T)   (one segment's record and dz)
    ///
    /// Both leave out what either way holds: the input, the initial state, the
    /// output and the gradients. Recomputation costs one more forward pass in
    /// backward (measured in the README's "Measured" section).
    public var recomputation: Recomputation = .none

    /// A layer with Keras's initializers, seeded: `kernel` Glorot-uniform
    /// (`fanIn = KH * KW * C`, `fanOut = KH * KW * 4F`), `recurrentKernel`
    /// orthogonal (Keras's `Orthogonal` on the kernel read as a
    /// (KH * KW * F, 4F) matrix, from seeded normal values by Gram-Schmidt rather
    /// than TensorFlow's QR, so the values differ from Keras's but have the same
    /// distribution), `bias` zero with the forget block 1 (`unit_forget_bias`).
    ///
    /// - Parameters:
    ///   - inputChannels: C, the input frames' channels.
    ///   - filters: F, the state's channels (Keras's `filters`).
    ///   - kernelSize: (KH, KW) of both convolutions.
    ///   - strides: the input convolution's strides.
    ///   - dilation: the input convolution's dilation (the recurrent one's is 1).
    ///   - padding: the input convolution's padding (the recurrent one is `same`).
    ///   - reversed: process the sequence last step first (Keras's `go_backwards`).
    ///   - peepholeFrame: the input frame size (H, W) for which the layer gets
    ///     peephole weights of the state's shape (H', W', F), initialized to zero
    ///     (so the layer starts as Keras's); `nil` for none.
    ///   - seed: the initializers' seed; the same seed gives the same weights.
    /// - Throws: `invalidArgument` for a size, stride or dilation below 1, or a
    ///   peephole frame the input convolution cannot take.
    public init(
        inputChannels: Int, filters: Int, kernelSize: (height: Int, width: Int),
        strides: (height: Int, width: Int) = (1, 1), dilation: (height: Int, width: Int) = (1, 1),
        padding: ConvolutionPadding = .valid, reversed: Bool = false,
        peepholeFrame: (height: Int, width: Int)? = nil, seed: UInt64 = 0
    ) throws {
        try RecurrentError.requirePositive(inputChannels, "ConvLSTM2D inputChannels")
        try RecurrentError.requirePositive(filters, "ConvLSTM2D filters")
        try RecurrentError.requirePositive(kernelSize, "ConvLSTM2D kernelSize")
        let (kh, kw) = kernelSize
        let kernel = try glorotUniform([kh, kw, inputChannels, 4 * filters], seed: seed)
        let recurrent = try orthogonalKernel([kh, kw, filters, 4 * filters], seed: seed &+ 1)
        let bias = try Tensor(shape: [4 * filters], scalars: (0 ..< 4 * filters).map { filters ..< 2 * filters ~= $0 ? 1 : 0 })
        try self.init(kernel: kernel, recurrentKernel: recurrent, bias: bias, strides: strides, dilation: dilation,
                      padding: padding, reversed: reversed)
        if let frame = peepholeFrame {
            let grid = try stateDimensions(forFrame: frame)
            peepholes = try ConvLSTMPeepholes.zeros(height: grid.height, width: grid.width, filters: filters)
        }
    }

    /// A layer holding Keras `ConvLSTM2D` weights: `kernel` (KH, KW, C, 4F),
    /// `recurrentKernel` (KH, KW, F, 4F) and `bias` (4F), gate order i, f, c, o;
    /// and optionally peephole weights, each (H', W', F).
    ///
    /// - Throws: `shapeMismatch` naming the first tensor whose shape does not fit;
    ///   `invalidArgument` for a zero kernel axis, stride or dilation.
    public init(
        kernel: Tensor, recurrentKernel: Tensor, bias: Tensor, strides: (height: Int, width: Int) = (1, 1),
        dilation: (height: Int, width: Int) = (1, 1), padding: ConvolutionPadding = .valid, reversed: Bool = false,
        peepholes: ConvLSTMPeepholes? = nil
    ) throws {
        let d = kernel.dimensions
        guard kernel.shape.rank == 4, kernel.count > 0, d[3] % 4 == 0 else {
            throw RecurrentError.shapeMismatch(name: "ConvLSTM2D kernel (height, width, inputChannels, 4 * filters)",
                                               expected: [.any("height"), .any("width"), .any("inputChannels"), .multiple(of: 4, "4 * filters")],
                                               actual: d)
        }
        try RecurrentError.requirePositive(strides, "ConvLSTM2D strides")
        try RecurrentError.requireExtent(kernel: d, dilation: dilation, "ConvLSTM2D dilation")
        let filters = d[3] / 4
        try RecurrentError.requireShape(recurrentKernel, [d[0], d[1], filters, 4 * filters], "ConvLSTM2D recurrent kernel")
        try RecurrentError.requireShape(bias, [4 * filters], "ConvLSTM2D bias")
        if let peepholes { try peepholes.validate(filters: filters, grid: nil) }
        self.kernel = kernel
        self.recurrentKernel = recurrentKernel
        self.bias = bias
        self.peepholes = peepholes
        self.inputChannels = d[2]
        self.filters = filters
        self.kernelSize = (d[0], d[1])
        self.strides = strides
        self.dilation = dilation
        self.padding = padding
        self.isReversed = reversed
    }

    /// The state grid (H', W') of the input convolution for frames of `frame` (H, W).
    ///
    /// - Throws: `invalidArgument` for a frame the input convolution cannot take.
    public func stateDimensions(forFrame frame: (height: Int, width: Int)) throws -> (height: Int, width: Int) {
        let g = try inputGeometry([1, frame.height, frame.width, inputChannels])
        return (g.outputHeight, g.outputWidth)
    }

    /// The output shape for an input of shape (B, T, H, W, C): (B, T, H', W', F)
    /// with `returnSequences`, else (B, H', W', F).
    ///
    /// - Throws: as ``forward(_:initialState:lengths:returnSequences:)`` does for a bad input shape.
    public func outputDimensions(forInput dimensions: [Int], returnSequences: Bool) throws -> [Int] {
        let g = try geometryAllowingEmptyBatch(dimensions)
        let grid = [g.state.height, g.state.width, filters]
        return returnSequences ? [g.batch, g.timesteps] + grid : [g.batch] + grid
    }

    /// Throws unless every weight still has the layer's shapes.
    func validateParameters() throws {
        let (kh, kw) = kernelSize
        try RecurrentError.requireShape(kernel, [kh, kw, inputChannels, 4 * filters], "ConvLSTM2D kernel")
        try RecurrentError.requireShape(recurrentKernel, [kh, kw, filters, 4 * filters], "ConvLSTM2D recurrent kernel")
        try RecurrentError.requireShape(bias, [4 * filters], "ConvLSTM2D bias")
        if let peepholes { try peepholes.validate(filters: filters, grid: nil) }
    }

    /// The input convolution over a stack of frames (N, H, W, C).
    func inputGeometry(_ frames: [Int]) throws -> ConvolutionGeometry {
        try ConvolutionGeometry(layer: "ConvLSTM2D", input: frames, channels: inputChannels, kernel: kernelSize,
                                strides: strides, dilation: dilation, padding: padding)
    }

    /// ``geometry(_:)`` that also takes a batch of 0 sequences: the shapes of a
    /// batch of one with the batch set to 0. Only for the empty-batch path of
    /// forward and backward, which return before any kernel would read it.
    func geometryAllowingEmptyBatch(_ input: [Int]) throws -> ConvLSTMGeometry {
        guard input.count == 5, input[0] == 0 else { return try geometry(input) }
        let one = try geometry([1] + input.dropFirst())
        return ConvLSTMGeometry(batch: 0, timesteps: one.timesteps, input: one.input, filters: filters, reversed: isReversed)
    }

    /// Both convolutions for an input (B, T, H, W, C).
    ///
    /// - Throws: `shapeMismatch` for an input that is not rank 5 with C channels,
    ///   or peepholes whose grid is not the state's; `invalidArgument` for a zero
    ///   batch, timestep count, height or width, or a frame the kernel does not fit.
    func geometry(_ input: [Int]) throws -> ConvLSTMGeometry {
        guard input.count == 5, input[4] == inputChannels else {
            throw RecurrentError.shapeMismatch(name: "ConvLSTM2D input (batch, timesteps, height, width, channels)",
                                               expected: [.any("batch"), .any("timesteps"), .any("height"), .any("width"), .size(inputChannels)],
                                               actual: input)
        }
        try RecurrentError.requirePositive(input[0], "ConvLSTM2D batch size")
        try RecurrentError.requirePositive(input[1], "ConvLSTM2D timesteps")
        let (frames, overflow) = input[0].multipliedReportingOverflow(by: input[1])
        guard !overflow else {
            throw RecurrentError.invalidArgument(name: "ConvLSTM2D input", expected: "batch x timesteps that fits in Int",
                                                 actual: "shape \(input)")
        }
        let g = ConvLSTMGeometry(batch: input[0], timesteps: input[1],
                                 input: try inputGeometry([frames] + input[2...]), filters: filters,
                                 reversed: isReversed)
        if let peepholes { try peepholes.validate(filters: filters, grid: (g.state.height, g.state.width)) }
        return g
    }
}

/// Shi et al.'s peephole weights: Hadamard (element-wise) weights on the cell
/// state, one value per state element. The input and forget gates read
/// c_{t-1}, the output gate reads c_t.
public struct ConvLSTMPeepholes: Sendable, Equatable {
    /// `W_ci` (H', W', F), added to the input gate's pre-activation times c_{t-1}.
    public var input: Tensor
    /// `W_cf` (H', W', F), added to the forget gate's pre-activation times c_{t-1}.
    public var forget: Tensor
    /// `W_co` (H', W', F), added to the output gate's pre-activation times c_t.
    public var output: Tensor

    /// Three tensors of the same shape (H', W', F).
    public init(input: Tensor, forget: Tensor, output: Tensor) {
        self.input = input
        self.forget = forget
        self.output = output
    }

    /// Zero peepholes for a (height, width) state grid of `filters` channels.
    public static func zeros(height: Int, width: Int, filters: Int) throws -> ConvLSTMPeepholes {
        let shape = Shape([height, width, filters], names: ["height", "width", "filters"])
        return ConvLSTMPeepholes(input: try Tensor(shape: shape), forget: try Tensor(shape: shape),
                                 output: try Tensor(shape: shape))
    }

    /// Throws `shapeMismatch` unless the three tensors are (H', W', F) alike, with
    /// the given grid when it is known.
    func validate(filters: Int, grid: (height: Int, width: Int)?) throws {
        let d = input.dimensions
        let expected = grid.map { [$0.height, $0.width, filters] }
            ?? (d.count == 3 && d[0] > 0 && d[1] > 0 ? [d[0], d[1], filters] : [-1, -1, filters])
        try RecurrentError.requireShape(input, expected, "ConvLSTM2D input-gate peephole (state height, width, filters)")
        try RecurrentError.requireShape(forget, expected, "ConvLSTM2D forget-gate peephole")
        try RecurrentError.requireShape(output, expected, "ConvLSTM2D output-gate peephole")
    }

    /// The three tensors side by side as one [3, H' * W' * F] buffer (i, f, o).
    var packed: [Float] { input.scalars + forget.scalars + output.scalars }

    mutating func zero() {
        for keyPath in [\ConvLSTMPeepholes.input, \.forget, \.output] {
            self[keyPath: keyPath].fill(with: 0)
        }
    }
}

/// Keras's `Orthogonal` initializer for a kernel of `shape`, read as a
/// (product of all axes but the last, last) matrix: orthonormal columns when it
/// has at least as many rows as columns, else orthonormal rows. Seeded.
func orthogonalKernel(_ shape: [Int], seed: UInt64) throws -> Tensor {
    let rows = shape.dropLast().reduce(1, *), columns = shape.last!
    var generator = SeededGenerator(seed: seed)
    var values: [Float]
    if rows >= columns {
        values = orthogonalColumns(rows: rows, columns: columns, generator: &generator)
    } else {
        let q = orthogonalColumns(rows: columns, columns: rows, generator: &generator)   // (columns, rows)
        values = [Float](repeating: 0, count: rows * columns)
        for i in 0 ..< rows { for j in 0 ..< columns { values[i * columns + j] = q[j * rows + i] } }
    }
    return try Tensor(shape: Shape(shape), scalars: values)
}

import FrameSequencing

// Keras's `ConvLSTM2D` stores exactly the layer's own tensors (`kernel`,
// `recurrent_kernel`, `bias`; gate order i, f, c, o; channels last), so import
// and export are a name mapping. Peephole weights have no Keras counterpart;
// they travel under the names `peephole_input`, `peephole_forget` and
// `peephole_output` when present.

extension ConvLSTM2D {
    /// A layer holding Keras `ConvLSTM2D` weights, with the layer's other
    /// arguments as Keras takes them (`strides`, `padding`, `dilation_rate`,
    /// `go_backwards`).
    ///
    /// - Parameters:
    ///   - kernel: (KH, KW, C, 4F).
    ///   - recurrentKernel: (KH, KW, F, 4F).
    ///   - bias: (4F).
    ///   - strides: the input convolution's strides, Keras's `strides`.
    ///   - dilation: the input convolution's dilation, Keras's `dilation_rate`.
    ///   - padding: Keras's `padding`.
    ///   - goBackwards: process the sequence last step first, Keras's `go_backwards`.
    /// - Throws: the errors of ``init(kernel:recurrentKernel:bias:strides:dilation:padding:reversed:peepholes:)``.
    public init(
        kerasKernel kernel: Tensor, recurrentKernel: Tensor, bias: Tensor, strides: (height: Int, width: Int) = (1, 1),
        dilation: (height: Int, width: Int) = (1, 1), padding: ConvolutionPadding = .valid, goBackwards: Bool = false
    ) throws {
        try self.init(kernel: kernel, recurrentKernel: recurrentKernel, bias: bias, strides: strides, dilation: dilation,
                      padding: padding, reversed: goBackwards)
    }

    /// A layer from a file holding Keras's `kernel`, `recurrent_kernel` and
    /// `bias` (each name preceded by `prefix`, for example `"conv_lstm2d."`), and
    /// peephole weights when the file has them.
    ///
    /// - Throws: `missingParameter` naming the first absent tensor; the errors of
    ///   ``init(kernel:recurrentKernel:bias:strides:dilation:padding:reversed:peepholes:)``.
    public init(
        keras file: SafeTensors, prefix: String = "", strides: (height: Int, width: Int) = (1, 1),
        dilation: (height: Int, width: Int) = (1, 1), padding: ConvolutionPadding = .valid, goBackwards: Bool = false
    ) throws {
        func tensor(_ name: String) throws -> Tensor {
            guard let array = file[prefix + name] else {
                throw RecurrentError.missingParameter(name: prefix + name, available: file.names)
            }
            return try array.tensor()
        }
        var peepholes: ConvLSTMPeepholes? = nil
        if file[prefix + "peephole_input"] != nil {
            peepholes = ConvLSTMPeepholes(input: try tensor("peephole_input"), forget: try tensor("peephole_forget"),
                                          output: try tensor("peephole_output"))
        }
        try self.init(kernel: tensor("kernel"), recurrentKernel: tensor("recurrent_kernel"), bias: tensor("bias"),
                      strides: strides, dilation: dilation, padding: padding, reversed: goBackwards, peepholes: peepholes)
    }

    /// Keras `ConvLSTM2D` weights: `kernel` (KH, KW, C, 4F), `recurrentKernel`
    /// (KH, KW, F, 4F), `bias` (4F), for `layer.set_weights([...])`.
    ///
    /// - Throws: `invalidArgument` for a layer with peepholes, which Keras's layer
    ///   cannot hold (use ``kerasSafeTensors(prefix:metadata:)`` to keep them).
    public func kerasWeights() throws -> (kernel: Tensor, recurrentKernel: Tensor, bias: Tensor) {
        guard peepholes == nil else {
            throw RecurrentError.invalidArgument(name: "ConvLSTM2D for Keras export", expected: "a layer without peepholes",
                                                 actual: "peephole weights, which keras.layers.ConvLSTM2D has no place for")
        }
        return (kernel, recurrentKernel, bias)
    }

    /// The weights as a file: `kernel`, `recurrent_kernel` and `bias` (and the
    /// peepholes when present), each name preceded by `prefix`; read back with
    /// ``init(keras:prefix:strides:dilation:padding:goBackwards:)``.
    public func kerasSafeTensors(prefix: String = "", metadata: [String: String] = [:]) throws -> SafeTensors {
        var entries: [SafeTensors.Entry] = [
            .init(name: prefix + "kernel", array: NumericArray(kernel)),
            .init(name: prefix + "recurrent_kernel", array: NumericArray(recurrentKernel)),
            .init(name: prefix + "bias", array: NumericArray(bias)),
        ]
        if let peepholes {
            entries += [
                .init(name: prefix + "peephole_input", array: NumericArray(peepholes.input)),
                .init(name: prefix + "peephole_forget", array: NumericArray(peepholes.forget)),
                .init(name: prefix + "peephole_output", array: NumericArray(peepholes.output)),
            ]
        }
        return try SafeTensors(entries, metadata: metadata)
    }
}

import FrameSequencing

// Conv2D's arithmetic on parameters, inputs and gradients the layer has
// validated, and the pointer helpers the convolution layers share: the one
// place their pointers are taken.

extension Conv2D {
    /// The convolution of a validated `input` with the kernel, bias and activation: `shape`.
    func conv2DForwardKernel(_ input: Tensor, geometry g: ConvolutionGeometry, shape: Shape) throws -> Tensor {
        try convolutionOutput(shape, input: input, kernel: kernel, bias: bias) { x, w, b, y in
            convolutionForward(g, image: x, matrix: w, columns: filters, bias: b, activation: activation, output: y)
        }
    }

    /// The delta of an activated output: `gradient` through `activation`'s derivative at `output`.
    func activatedOutputDelta(output: Tensor, gradient: Tensor) -> ((ConvolutionDelta) -> Void) -> Void {
        { body in
            output.withUnsafeBufferPointer { y in
                gradient.withUnsafeBufferPointer { dy in
                    body(.output(y.baseAddress!, gradient: dy.baseAddress!, activation: activation))
                }
            }
        }
    }

    /// Adds dL/dkernel and dL/dbias into validated `gradients` and returns
    /// dL/dinput, from the delta `withDelta` hands to its body.
    func conv2DBackwardKernel(input: Tensor, geometry recorded: ConvolutionGeometry, into gradients: inout Gradients,
                              withDelta: ((ConvolutionDelta) -> Void) -> Void) throws -> Tensor {
        return try uninitializedTensor(input.shape) { dx in
            gradients.kernel.withUnsafeMutableBufferPointer { dw in
                withOptionalMutablePointer(&gradients.bias) { db in
                    input.withUnsafeBufferPointer { x in
                        kernel.withUnsafeBufferPointer { w in
                            withDelta { delta in
                                convolutionBackward(recorded, image: x.baseAddress!, matrix: w.baseAddress!, columns: filters,
                                                    delta: delta, dMatrix: dw.baseAddress!, dBias: db, dImage: dx)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Keras's `glorot_uniform` for a (KH, KW, in, out) kernel: values uniform in
/// `±sqrt(6 / (fanIn + fanOut))` with `fanIn = KH * KW * shape[2]` and
/// `fanOut = KH * KW * shape[3]`, seeded, in row-major order.
///
/// - Throws: what `Tensor(shape:)` throws for a shape too large to allocate.
func glorotUniform(_ shape: [Int], seed: UInt64) throws -> Tensor {
    var kernel = try Tensor(shape: Shape(shape))          // validates the size before any arithmetic on it
    let receptive = Float(shape[0]) * Float(shape[1])
    let limit = (6 / (receptive * Float(shape[2]) + receptive * Float(shape[3]))).squareRoot()
    var generator = SeededGenerator(seed: seed)
    kernel.withUnsafeMutableBufferPointer { values in
        for i in values.indices { values[i] = (2 * generator.nextUnitFloat() - 1) * limit }
    }
    return kernel
}

/// A tensor of `shape` whose every element `initialize` writes, skipping the
/// zero fill of `Tensor(shape:)` (for a large output as costly as the work);
/// `initialize` is not called for an empty shape.
///
/// - Throws: what `Tensor(shape:)` throws for an invalid or too large shape.
func uninitializedTensor(_ shape: Shape, _ initialize: (UnsafeMutablePointer<Float>) -> Void) throws -> Tensor {
    let count = try shape.validatedElementCount()
    let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
    guard !overflow, bytes <= FileReadLimits.default.maximumBytes else { return try Tensor(shape: shape) }
    guard count > 0 else { return try Tensor(shape: shape) }   // see `uninitializedFloats`
    let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        initialize(buffer.baseAddress!)
        initialized = count
    }
    return try Tensor(shape: shape, scalars: values)
}

/// Calls `body` with the start of `tensor`'s elements, or nil when there is no tensor.
func withOptionalPointer<R>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let tensor else { return body(nil) }
    return tensor.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// Calls `body` with the writable start of `tensor`'s elements, or nil when there is no tensor.
func withOptionalMutablePointer<R>(_ tensor: inout Tensor?, _ body: (UnsafeMutablePointer<Float>?) -> R) -> R {
    guard tensor != nil else { return body(nil) }
    return tensor!.withUnsafeMutableBufferPointer { body($0.baseAddress) }
}

/// A new tensor of `shape` that `body` fills, given pointers to `input`,
/// `kernel` and `bias` (nil without one): the convolutions' forward passes.
func convolutionOutput(
    _ shape: Shape, input: Tensor, kernel: Tensor, bias: Tensor?,
    _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>?, UnsafeMutablePointer<Float>) -> Void
) throws -> Tensor {
    try uninitializedTensor(shape) { y in
        input.withUnsafeBufferPointer { x in
            kernel.withUnsafeBufferPointer { w in
                withOptionalPointer(bias) { b in body(x.baseAddress!, w.baseAddress!, b, y) }
            }
        }
    }
}

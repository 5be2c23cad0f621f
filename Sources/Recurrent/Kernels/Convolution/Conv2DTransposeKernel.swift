import FrameSequencing

// Conv2DTranspose's arithmetic on parameters, inputs and gradients the layer
// has validated: the one place its pointers are taken.

extension Conv2DTranspose {
    /// The transposed convolution of a validated `input`: `shape`.
    func conv2DTransposeForwardKernel(_ input: Tensor, geometry g: ConvolutionGeometry, shape: Shape) throws -> Tensor {
        try convolutionOutput(shape, input: input, kernel: kernel, bias: bias) { x, w, b, y in
            convolutionTransposedForward(g, rows: x, matrix: w, columns: inputChannels, bias: b, activation: activation, image: y)
        }
    }

    /// Adds dL/dkernel and dL/dbias into validated `gradients` and returns dL/dinput.
    func conv2DTransposeBackwardKernel(outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws -> Tensor {
        let g = cache.geometry
        return try uninitializedTensor(cache.input.shape) { dx in
            gradients.kernel.withUnsafeMutableBufferPointer { dw in
                withOptionalMutablePointer(&gradients.bias) { db in
                    cache.input.withUnsafeBufferPointer { x in
                        cache.output.withUnsafeBufferPointer { y in
                            outputGradient.withUnsafeBufferPointer { dy in
                                kernel.withUnsafeBufferPointer { w in
                                    convolutionTransposedBackward(
                                        g, rows: x.baseAddress!, matrix: w.baseAddress!, columns: inputChannels,
                                        image: y.baseAddress!, imageGradient: dy.baseAddress!,
                                        activation: activation, dMatrix: dw.baseAddress!, dBias: db, dRows: dx)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

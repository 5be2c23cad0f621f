import FrameSequencing

/// A ``Conv2D`` and the ``MaxPool2D`` after it, run as one pass that never
/// stores the convolution's full-resolution output (see
/// Kernels/ConvolutionPooling.swift). ``Sequential`` uses it for every such
/// pair; the results equal the two layers run one after the other.
extension Conv2D {
    /// `pool.forward(forward(input))` for inference: nothing kept for backward.
    func pooledInference(_ input: Tensor, pool: MaxPool2D) throws -> Tensor {
        try validateParameters()
        let g = try geometry(input.dimensions)
        let pg = try pool.geometry([g.batch, g.outputHeight, g.outputWidth, filters])
        let shape = Shape([g.batch, pg.outputHeight, pg.outputWidth, filters], names: ["batch", "height", "width", "filters"])
        return try uninitializedTensor(shape) { y in
            input.withUnsafeBufferPointer { x in
                kernel.withUnsafeBufferPointer { w in
                    withOptionalPointer(bias) { b in
                        convolutionPoolForward(g, pg, image: x.baseAddress!, matrix: w.baseAddress!, columns: filters,
                                               bias: b, activation: activation, pooled: y, argmax: nil)
                    }
                }
            }
        }
    }

    /// What the fused backward needs: the input, the pooled output and where
    /// each window's maximum was.
    struct PooledCache: Sendable {
        /// (B, H, W, C).
        let input: Tensor
        /// (B, PH, PW, F), after the activation and the pooling.
        let pooled: Tensor
        /// (B, PH, PW, F): each maximum's position in the convolution's output image.
        let argmax: [Int32]
        let geometry: ConvolutionGeometry
        let pooling: ConvolutionGeometry
    }

    /// `pool.forward(forward(input))` without the intermediate tensor.
    ///
    /// - Throws: what ``forward(_:)`` and `pool`'s forward throw.
    func pooledForward(_ input: Tensor, pool: MaxPool2D) throws -> (output: Tensor, cache: PooledCache) {
        try validateParameters()
        let g = try geometry(input.dimensions)
        let pg = try pool.geometry([g.batch, g.outputHeight, g.outputWidth, filters])
        let shape = Shape([g.batch, pg.outputHeight, pg.outputWidth, filters], names: ["batch", "height", "width", "filters"])
        var argmax: [Int32] = []
        let pooled = try uninitializedTensor(shape) { y in
            argmax = [Int32](unsafeUninitializedCapacity: shape.dimensions.reduce(1, *)) { index, initialized in
                input.withUnsafeBufferPointer { x in
                    kernel.withUnsafeBufferPointer { w in
                        withOptionalPointer(bias) { b in
                            convolutionPoolForward(g, pg, image: x.baseAddress!, matrix: w.baseAddress!, columns: filters,
                                                   bias: b, activation: activation, pooled: y, argmax: index.baseAddress!)
                        }
                    }
                }
                initialized = index.count
            }
        }
        return (pooled, PooledCache(input: input, pooled: pooled, argmax: argmax, geometry: g, pooling: pg))
    }

    /// Backward of ``pooledForward(_:pool:)`` for `L = sum(pooled * outputGradient)`:
    /// accumulates the kernel and bias gradients and returns dL/dinput.
    ///
    /// - Throws: `shapeMismatch` for gradients of the wrong shape, `cacheMismatch`
    ///   for a cache of another configuration.
    func pooledBackward(outputGradient: Tensor, cache: PooledCache, into gradients: inout Gradients) throws -> Tensor {
        try validateParameters()
        guard (try? geometry(cache.input.dimensions)) == cache.geometry else {
            throw RecurrentError.cacheMismatch(reason: "it was recorded by a Conv2D of another kernel, stride, dilation or padding")
        }
        try RecurrentError.requireShape(outputGradient, cache.pooled.dimensions, "MaxPool2D output gradient")
        try RecurrentError.requireShape(gradients.kernel, kernel.dimensions, "Conv2D kernel gradient")
        try requireMatchingBias(gradients.bias, bias, "Conv2D bias gradient")
        let g = cache.geometry
        return try uninitializedTensor(cache.input.shape) { dx in
            gradients.kernel.withUnsafeMutableBufferPointer { dw in
                withOptionalMutablePointer(&gradients.bias) { db in
                    cache.input.withUnsafeBufferPointer { x in
                        cache.pooled.withUnsafeBufferPointer { y in
                            outputGradient.withUnsafeBufferPointer { dy in
                                cache.argmax.withUnsafeBufferPointer { index in
                                    kernel.withUnsafeBufferPointer { w in
                                        let delta = PooledDelta(pooling: cache.pooling, pooledGradient: dy.baseAddress!,
                                                                pooled: y.baseAddress!, argmax: index.baseAddress!,
                                                                activation: activation)
                                        convolutionBackward(g, image: x.baseAddress!, matrix: w.baseAddress!, columns: filters,
                                                            delta: .pooled(delta), dMatrix: dw.baseAddress!, dBias: db,
                                                            dImage: dx)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

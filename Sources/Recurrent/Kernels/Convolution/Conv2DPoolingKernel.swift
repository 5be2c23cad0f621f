import FrameSequencing

/// A ``Conv2D`` and the ``MaxPool2D`` after it, run as one pass that never
/// stores the convolution's full-resolution output (see
/// Kernels/Convolution/ConvolutionPooling.swift). ``Sequential`` uses it for every such
/// pair; the results equal the two layers run one after the other.
extension Conv2D {
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

    /// `pool.forward(forward(input))` for inference: nothing kept for backward.
    func pooledInference(_ input: Tensor, pool: MaxPool2D) throws -> Tensor {
        try runPooled(input, pool: pool, keepingArgmax: false).output
    }

    /// `pool.forward(forward(input))` without the intermediate tensor, keeping
    /// what ``pooledBackward(outputGradient:cache:into:)`` needs.
    ///
    /// - Throws: what ``forward(_:)`` and `pool`'s forward throw.
    func pooledForward(_ input: Tensor, pool: MaxPool2D) throws -> (output: Tensor, cache: PooledCache) {
        let (pooled, argmax, g, pg) = try runPooled(input, pool: pool, keepingArgmax: true)
        return (pooled, PooledCache(input: input, pooled: pooled, argmax: argmax, geometry: g, pooling: pg))
    }

    private func runPooled(_ input: Tensor, pool: MaxPool2D, keepingArgmax: Bool) throws
        -> (output: Tensor, argmax: [Int32], geometry: ConvolutionGeometry, pooling: ConvolutionGeometry) {
        try validateParameters()
        let g = try geometry(input.dimensions)
        let pg = try pool.geometry([g.batch, g.outputHeight, g.outputWidth, filters])
        let shape = Shape([g.batch, pg.outputHeight, pg.outputWidth, filters], names: ["batch", "height", "width", "filters"])
        var argmax = [Int32](repeating: 0, count: keepingArgmax ? try shape.validatedElementCount() : 0)
        let pooled = try uninitializedTensor(shape) { y in
            input.withUnsafeBufferPointer { x in
                kernel.withUnsafeBufferPointer { w in
                    withOptionalPointer(bias) { b in
                        argmax.withUnsafeMutableBufferPointer { index in
                            convolutionPoolForward(g, pg, image: x.baseAddress!, matrix: w.baseAddress!, columns: filters,
                                                   bias: b, activation: activation, pooled: y,
                                                   argmax: keepingArgmax ? index.baseAddress! : nil)
                        }
                    }
                }
            }
        }
        return (pooled, argmax, g, pg)
    }

    /// Backward of ``pooledForward(_:pool:)`` for `L = sum(pooled * outputGradient)`:
    /// accumulates the kernel and bias gradients and returns dL/dinput.
    ///
    /// - Throws: `shapeMismatch` for gradients of the wrong shape, `cacheMismatch`
    ///   for a cache of another configuration.
    func pooledBackward(outputGradient: Tensor, cache: PooledCache, into gradients: inout Gradients) throws -> Tensor {
        try RecurrentError.requireShape(outputGradient, cache.pooled.dimensions, "MaxPool2D output gradient")
        return try backward(input: cache.input, geometry: cache.geometry, into: &gradients) { body in
            cache.pooled.withUnsafeBufferPointer { y in
                outputGradient.withUnsafeBufferPointer { dy in
                    cache.argmax.withUnsafeBufferPointer { index in
                        body(.pooled(PooledDelta(pooling: cache.pooling, pooledGradient: dy.baseAddress!, pooled: y.baseAddress!,
                                                 argmax: index.baseAddress!, activation: activation)))
                    }
                }
            }
        }
    }
}

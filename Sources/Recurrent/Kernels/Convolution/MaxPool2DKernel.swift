import FrameSequencing
internal import FrameSequencingRuntime

// MaxPool2D's arithmetic on inputs the layer has validated: the one place its
// pointers are taken.

extension MaxPool2D {
    /// The window maxima of a validated `input`: `shape`.
    func maxPoolForwardKernel(_ input: Tensor, geometry g: ConvolutionGeometry, shape: Shape) throws -> Tensor {
        return try uninitializedTensor(shape) { y in
            input.withUnsafeBufferPointer { x in
                let x = x.baseAddress!
                forEachSlab(g.batch) { maxPoolValues(g, images: $0, input: x, output: y) }
            }
        }
    }

    /// The window maxima and each window's argmax, for backward.
    func maxPoolTrainingKernel(_ input: Tensor, geometry g: ConvolutionGeometry, dimensions: [Int]) throws
        -> (output: Tensor, argmax: [Int32]) {
        var argmax: [Int32] = []
        let output = try uninitializedTensor(Shape(dimensions, names: ["batch", "height", "width", "channels"])) { y in
            argmax = [Int32](unsafeUninitializedCapacity: dimensions.reduce(1, *)) { index, initialized in
                input.withUnsafeBufferPointer { x in
                    let (x, index) = (x.baseAddress!, index.baseAddress!)
                    forEachSlab(g.batch) { maxPoolForward(g, images: $0, input: x, output: y, argmax: index) }
                }
                initialized = index.count
            }
        }
        return (output, argmax)
    }

    /// dL/dinput from a validated output gradient and cache.
    func maxPoolBackwardKernel(outputGradient: Tensor, cache: Cache) throws -> Tensor {
        let g = cache.geometry
        return try uninitializedTensor(cache.inputShape) { dx in
            cache.argmax.withUnsafeBufferPointer { index in
                outputGradient.withUnsafeBufferPointer { dy in
                    let (dy, index) = (dy.baseAddress!, index.baseAddress!)
                    forEachSlab(g.batch) { maxPoolBackward(g, images: $0, outputGradient: dy, argmax: index, dInput: dx) }
                }
            }
        }
    }
}

/// Runs `body` on up to 16 contiguous runs of `0 ..< batch` images, on the
/// worker pool when there are several (each run writes its own images only).
func forEachSlab(_ batch: Int, _ body: (Range<Int>) -> Void) {
    let count = min(batch, ConvolutionSchedule.maximumSlabs)
    if count <= 1 {
        body(0 ..< batch)
    } else {
        WorkerPool.shared.run(parts: count) { body(chunk($0, of: count, count: batch)) }
    }
}

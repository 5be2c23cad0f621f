import FrameSequencing

// Dense's arithmetic on parameters and inputs the layer has validated: the one
// place its pointers are taken.

extension Dense {
    /// `activation(x W^T + b)` for a validated `input` (..., I): (..., O).
    func denseForwardKernel(_ input: Tensor) throws -> Tensor {
        let rows = input.count / inputSize
        var output = try Tensor(shape: Shape(input.dimensions.dropLast() + [outputSize]))
        output.withUnsafeMutableBufferPointer { y in
            input.withUnsafeBufferPointer { x in
                weight.withUnsafeBufferPointer { w in
                    bias.withUnsafeBufferPointer { b in
                        for r in 0 ..< rows { (y.baseAddress! + r * outputSize).update(from: b.baseAddress!, count: outputSize) }
                        gemm(transposeA: false, transposeB: true, m: rows, n: outputSize, k: inputSize,
                             a: x.baseAddress!, lda: inputSize, b: w.baseAddress!, ldb: inputSize,
                             beta: 1, c: y.baseAddress!, ldc: outputSize)
                    }
                }
            }
            activation.apply(y.baseAddress!, count: y.count)
        }
        return output
    }

    /// Adds dL/dW and dL/db into validated `gradients` and returns dL/dinput,
    /// for a validated output gradient and cache.
    func denseBackwardKernel(outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws -> Tensor {
        let rows = cache.input.count / inputSize
        var delta = outputGradient   // dL/d(pre-activation), [rows, output]
        delta.withUnsafeMutableBufferPointer { d in
            cache.output.withUnsafeBufferPointer { activation.backward(output: $0.baseAddress!, gradient: d.baseAddress!, count: d.count) }
        }
        var inputGradient = try Tensor(shape: Shape(cache.input.dimensions))
        delta.withUnsafeBufferPointer { d in
            cache.input.withUnsafeBufferPointer { x in
                gradients.weight.withUnsafeMutableBufferPointer { dw in
                    gemm(transposeA: true, transposeB: false, m: outputSize, n: inputSize, k: rows,
                         a: d.baseAddress!, lda: outputSize, b: x.baseAddress!, ldb: inputSize,
                         beta: 1, c: dw.baseAddress!, ldc: inputSize)
                }
            }
            gradients.bias.withUnsafeMutableBufferPointer { db in
                for r in 0 ..< rows { for j in 0 ..< outputSize { db[j] += d[r * outputSize + j] } }
            }
            weight.withUnsafeBufferPointer { w in
                inputGradient.withUnsafeMutableBufferPointer { dx in
                    gemm(transposeA: false, transposeB: false, m: rows, n: inputSize, k: outputSize,
                         a: d.baseAddress!, lda: outputSize, b: w.baseAddress!, ldb: inputSize,
                         beta: 0, c: dx.baseAddress!, ldc: inputSize)
                }
            }
        }
        return inputGradient
    }
}

// A Conv2D followed by a MaxPool2D, fused: the convolution's full-resolution
// output is never stored. Forward computes it one image at a time into a
// scratch buffer that stays in cache and pools it from there; backward rebuilds
// the only nonzero part of its gradient (at each window's maximum) chunk by
// chunk from the pooled gradient and the argmax.
//
// Legend (as in ConvolutionPasses.swift): B batch; K one patch; N filters;
// R rows of the patch grid. `g` is the convolution's geometry, `pg` the
// pooling's (its input is the convolution's output: pg.channels == N).
//
//   forward:   pooled[b] = maxpool(activation(im2col(image[b]) x matrix + bias))
//   backward:  delta[r, n] = sum over pooled pixels q whose window's maximum for
//              channel n is r: dPooled[q, n] * activation'(pooled[q, n])
//              then dMatrix, dBias and dImage as in convolutionBackward.
// activation'(pooled) equals activation'(conv output) at the maximum, since
// the two values are the same there; every other delta is zero.
//
// For cnnlstm.seed2 this removes a 78 MB and a 34 MB tensor from every forward
// pass (and from the memory a training step keeps), and the page faults of
// allocating them, which cost more than their arithmetic.

import FrameSequencing

/// Conv2D then max pooling, one image at a time. Overwrites `pooled` (B, PH,
/// PW, N) and, when given, `argmax` (B, PH, PW, N) (each maximum's position in
/// the convolution's output image, as ``maxPoolForward(_:images:input:output:argmax:)``
/// writes it; inference passes nil and finds only the maxima).
func convolutionPoolForward(
    _ g: ConvolutionGeometry, _ pg: ConvolutionGeometry, image: UnsafePointer<Float>, matrix: UnsafePointer<Float>,
    columns n: Int, bias: UnsafePointer<Float>?, activation: Activation,
    pooled: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?
) {
    let k = g.patchLength
    let depth = bias == nil ? k : k + 1
    let direct = DirectConvolution.applies(g)
        ? DirectConvolution(g, matrix: matrix, columns: n, bias: bias, activation: activation) : nil
    let packed = direct == nil ? packedConvolutionMatrix(matrix, k: k, n: n, bias: bias) : nil
    let schedule = ConvolutionSchedule(g)
    let single = pg.with(batch: 1)
    let pooledLength = pg.rowsPerImage * n
    let rowsMax = min(schedule.chunkRows, g.rowsPerImage)
    let work = direct?.scratchCount ?? rowsMax * depth                // per image: direct scratch, or patches
    schedule.run { _, images in
        withScratch(work + g.rowsPerImage * n) { scratch in
            let convolved = scratch + work                             // [OH * OW, N], one image
            if packed != nil, depth > k { for r in 0 ..< rowsMax { scratch[r * depth + k] = 1 } }
            for b in images {
                if let direct, argmax == nil {
                    // Inference: pool the raw sums, then add the bias and activate
                    // the pooled values only. The same numbers: the activations are
                    // non-decreasing and rounding x + bias is monotonic in x, so
                    // the window's largest raw sum gives its largest output
                    // (and a NaN still wins).
                    let wide = direct.convolveWide(b, images: image, scratch: scratch)
                    let out = pooled + b * pooledLength
                    maxPoolValues(single, images: 0 ..< 1, input: wide, output: out, rowPitch: direct.paddedWidth)
                    direct.addBiasAndActivate(out, pixels: pg.rowsPerImage)
                    continue
                }
                if let direct {
                    direct.run(b, images: image, scratch: scratch, output: convolved)
                } else if let packed {
                    let patches = scratch                              // [chunk rows, K (+1)]
                    let first = b * g.rowsPerImage
                    for start in stride(from: 0, to: g.rowsPerImage, by: rowsMax) {
                        let rows = first + start ..< first + min(start + rowsMax, g.rowsPerImage)
                        let y = convolved + start * n
                        im2col(g, image: image, rows: rows, patches: patches, rowStride: depth)
                        packed.multiplyInPlace(m: rows.count, a: patches, lda: depth, beta: 0, c: y, ldc: n)
                        activation.apply(y, count: rows.count * n)
                    }
                }
                if let argmax {
                    maxPoolForward(single, images: 0 ..< 1, input: convolved, output: pooled + b * pooledLength,
                                   argmax: argmax + b * pooledLength)
                } else {
                    maxPoolValues(single, images: 0 ..< 1, input: convolved, output: pooled + b * pooledLength)
                }
            }
        }
    }
}

/// The convolution's output gradient at the pooling windows' maxima: see the
/// file comment. Fills `rows` of it ([rows, N]) into `buffer`.
struct PooledDelta {
    let pooling: ConvolutionGeometry
    let pooledGradient: UnsafePointer<Float>       // (B, PH, PW, N)
    let pooled: UnsafePointer<Float>               // (B, PH, PW, N), after the activation
    let argmax: UnsafePointer<Int32>               // (B, PH, PW, N)
    let activation: Activation

    func fill(_ rows: Range<Int>, rowsPerImage: Int, columns n: Int, into buffer: UnsafeMutablePointer<Float>) {
        buffer.update(repeating: 0, count: rows.count * n)
        let pooledRows = pooling.rowsPerImage
        for b in rows.lowerBound / rowsPerImage ... (rows.upperBound - 1) / rowsPerImage {
            let imageStart = b * rowsPerImage
            for q in b * pooledRows ..< (b + 1) * pooledRows {
                for j in 0 ..< n {
                    let row = imageStart + Int(argmax[q * n + j])
                    guard rows.contains(row) else { continue }
                    let value = pooled[q * n + j]
                    buffer[(row - rows.lowerBound) * n + j] += pooledGradient[q * n + j] * activation.derivative(output: value)
                }
            }
        }
    }
}

/// The [K (+1), N] product matrix of a convolution, packed once per call: the
/// kernel, then the bias as row K.
func packedConvolutionMatrix(_ matrix: UnsafePointer<Float>, k: Int, n: Int, bias: UnsafePointer<Float>?) -> PackedMatrixB {
    let depth = bias == nil ? k : k + 1
    return withScratch(depth * n) { augmented in
        augmented.update(from: matrix, count: k * n)
        if let bias { (augmented + k * n).update(from: bias, count: n) }
        return PackedMatrixB(b: augmented, ldb: n, transposed: false, k: depth, n: n, maximumRows: 1)
    }
}

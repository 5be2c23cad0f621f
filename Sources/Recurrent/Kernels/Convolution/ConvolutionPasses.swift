// The four passes of Conv2D and Conv2DTranspose, each im2col or col2im around
// `gemm`, cut into slabs of whole images that run on the worker pool.
//
// Legend (as in ConvolutionGeometry.swift): B batch; H x W x C the image side;
// OH x OW the patch grid; K = KH * KW * C one patch; R rows of the patch grid
// (B * OH * OW, or one chunk of them); N columns of the matrix that multiplies
// the patches: F filters for a Conv2D (matrix = kernel (KH, KW, C, F) as
// [K, F]), the C_in input channels for a Conv2DTranspose (matrix = kernel
// (KH, KW, F, C_in) as [K, C_in], the image side then holding F channels).
//
//   patch product   rows[R, N]     = im2col(image)[R, K] x matrix[K, N]    Conv2D forward, Conv2DTranspose dInput
//   product col2im  image          = col2im(rows[R, N] x matrix^T[N, K])   Conv2DTranspose forward, Conv2D dInput
//   weight gradient dMatrix[K, N] += im2col(image)^T[K, R] x rows[R, N]    both layers' dKernel
//
// A Conv2D's bias rides in the products: its patches get a column of ones
// (K + 1 columns) and its matrix the bias as row K, so the forward product adds
// the bias and the weight gradient's row K is the bias gradient.
//
// Memory plan of one pass: per slab, one [chunkRows, K (+1)] patch buffer (and
// a [chunkRows, K] one for the Conv2D's dInput), a [chunkRows, N] delta buffer
// when the activation is not linear, and per slab a [K (+1), N] partial
// gradient; all allocated once per call, never per chunk. Backward recomputes
// the patches from the saved input instead of keeping them from forward (they
// are K / C times its size).
//
// Determinism: slabs depend only on B, partial gradients are summed in slab
// order, and `gemm` does not depend on the thread count, so results are the
// same on every machine.

import FrameSequencing
internal import FrameSequencingRuntime

/// Images per slab and rows per chunk of one pass.
struct ConvolutionSchedule {
    /// Slabs are contiguous runs of whole images: col2im of different slabs
    /// writes disjoint pixels, so slabs run at once without locks.
    let slabs: [Range<Int>]
    /// Patch rows per gemm call: about 128K patch values, and at least 256 rows
    /// so packing the [K, N] matrix stays a small part of each call.
    let chunkRows: Int

    /// At most this many slabs, whatever the core count (so sums do not depend on it).
    static let maximumSlabs = 16

    init(_ g: ConvolutionGeometry) {
        let count = min(g.batch, Self.maximumSlabs)
        slabs = (0 ..< count).map { chunk($0, of: count, count: g.batch) }
        let imagesPerSlab = count == 0 ? 0 : (g.batch + count - 1) / count
        chunkRows = max(1, min(max(256, (1 << 17) / max(g.patchLength, 1)), g.rowsPerImage * imagesPerSlab))
    }

    /// With one slab, `gemm` may use the pool itself.
    var threadedGEMM: Bool { slabs.count == 1 }

    /// Runs `body(slab, images)` for every slab, on the worker pool when there
    /// are several.
    func run(_ body: (_ slab: Int, _ images: Range<Int>) -> Void) {
        if slabs.count == 1 {
            body(0, slabs[0])
        } else if slabs.count > 1 {
            WorkerPool.shared.run(parts: slabs.count) { body($0, slabs[$0]) }
        }
    }

    /// The patch rows of `images`, in chunks of at most `chunkRows`.
    func chunks(_ images: Range<Int>, _ g: ConvolutionGeometry) -> [Range<Int>] {
        let rows = images.lowerBound * g.rowsPerImage ..< images.upperBound * g.rowsPerImage
        return stride(from: rows.lowerBound, to: rows.upperBound, by: chunkRows).map {
            $0 ..< min($0 + chunkRows, rows.upperBound)
        }
    }
}

/// Calls `body` with `count` uninitialized floats, freed afterwards.
@inline(__always)
func withScratch<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
    defer { scratch.deallocate() }
    return body(scratch)
}

/// Conv2D forward: `output[R, N] = activation(im2col(image) x matrix + bias)`
/// over the whole grid. Overwrites `output` (B, OH, OW, N).
///
/// - Complexity: `2 * B * OH * OW * (K + 1) * N` flops in `gemm`.
func convolutionForward(
    _ g: ConvolutionGeometry, image: UnsafePointer<Float>, matrix: UnsafePointer<Float>, columns n: Int,
    bias: UnsafePointer<Float>?, activation: Activation, output: UnsafeMutablePointer<Float>
) {
    let k = g.patchLength
    let depth = bias == nil ? k : k + 1                                // patch columns, with the ones
    let schedule = ConvolutionSchedule(g)
    if DirectConvolution.applies(g) {
        let direct = DirectConvolution(g, matrix: matrix, columns: n, bias: bias, activation: activation)
        schedule.run { _, images in
            withScratch(direct.scratchCount) { scratch in
                for b in images { direct.run(b, images: image, scratch: scratch, output: output + b * g.rowsPerImage * n) }
            }
        }
        return
    }
    let packed = packedConvolutionMatrix(matrix, k: k, n: n, bias: bias)
    schedule.run { _, images in
        withScratch(schedule.chunkRows * depth) { patches in           // [chunkRows, K (+1)]
            if depth > k { for r in 0 ..< schedule.chunkRows { patches[r * depth + k] = 1 } }
            for rows in schedule.chunks(images, g) {
                let y = output + rows.lowerBound * n                   // [rows, N]
                im2col(g, image: image, rows: rows, patches: patches, rowStride: depth)
                // The patches are read in place (written once, read once): packing
                // them as well cost a third of conv2 of cnnlstm.seed2.
                packed.multiplyInPlace(m: rows.count, a: patches, lda: depth, beta: 0, c: y, ldc: n)
                activation.apply(y, count: rows.count * n)
            }
        }
    }
}

/// Conv2DTranspose forward: `image = activation(col2im(rows x matrix^T) + bias)`
/// with `rows` [R, N] the transposed layer's input. Overwrites `image`
/// (B, H, W, C); `bias` has C values.
func convolutionTransposedForward(
    _ g: ConvolutionGeometry, rows x: UnsafePointer<Float>, matrix: UnsafePointer<Float>, columns n: Int,
    bias: UnsafePointer<Float>?, activation: Activation, image: UnsafeMutablePointer<Float>
) {
    let k = g.patchLength
    let schedule = ConvolutionSchedule(g)
    schedule.run { _, images in
        let slab = image + images.lowerBound * g.imageLength           // (images, H, W, C)
        let slabCount = images.count * g.imageLength
        slab.update(repeating: 0, count: slabCount)
        withScratch(schedule.chunkRows * k) { patches in               // [chunkRows, K]
            for rows in schedule.chunks(images, g) {
                gemm(transposeA: false, transposeB: true, m: rows.count, n: k, k: n,
                     a: x + rows.lowerBound * n, lda: n, b: matrix, ldb: n, beta: 0, c: patches, ldc: k,
                     threaded: schedule.threadedGEMM)
                col2im(g, patches: patches, rows: rows, image: image)
            }
        }
        if let bias {
            for pixel in 0 ..< slabCount / g.channels {
                let p = slab + pixel * g.channels
                for c in 0 ..< g.channels { p[c] += bias[c] }
            }
        }
        activation.apply(slab, count: slabCount)
    }
}

/// Where a Conv2D's backward reads `delta`, dL/d(pre-activation) [R, N]: from
/// its output and output gradient, or rebuilt from a fused max pooling.
enum ConvolutionDelta {
    /// `outputGradient * activation'(output)`, both [R, N].
    case output(UnsafePointer<Float>, gradient: UnsafePointer<Float>, activation: Activation)
    /// Nonzero only at the pooling windows' maxima (ConvolutionPooling.swift).
    case pooled(PooledDelta)

    /// The delta of `rows` [rows, N]: straight from the gradient when it needs no
    /// work, otherwise computed into `buffer`.
    func rows(_ rows: Range<Int>, _ g: ConvolutionGeometry, columns n: Int,
              buffer: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        switch self {
        case let .output(output, gradient, activation):
            let delta = gradient + rows.lowerBound * n
            guard activation != .linear else { return delta }
            buffer.update(from: delta, count: rows.count * n)
            activation.backward(output: output + rows.lowerBound * n, gradient: buffer, count: rows.count * n)
        case let .pooled(pooled):
            pooled.fill(rows, rowsPerImage: g.rowsPerImage, columns: n, into: buffer)
        }
        return UnsafePointer(buffer)
    }
}

/// Conv2D backward for `L = sum(output * outputGradient)`, both [R, N]:
/// with `delta` = dL/d(pre-activation), accumulates
/// `dMatrix[K, N] += im2col(image)^T x delta` and `dBias[N] += sum over rows of
/// delta`, and overwrites `dImage = col2im(delta x matrix^T)` (B, H, W, C).
func convolutionBackward(
    _ g: ConvolutionGeometry, image: UnsafePointer<Float>, matrix: UnsafePointer<Float>, columns n: Int,
    delta source: ConvolutionDelta,
    dMatrix: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>?, dImage: UnsafeMutablePointer<Float>
) {
    let k = g.patchLength
    let depth = dBias == nil ? k : k + 1                               // patch columns, with the ones
    let schedule = ConvolutionSchedule(g)
    let partialLength = depth * n                                      // [K (+1), N] per slab
    // matrix^T [N, K], packed once: the delta rows multiply it in place.
    let transposed = PackedMatrixB(b: matrix, ldb: n, transposed: true, k: n, n: k, maximumRows: 1)
    withScratch(schedule.slabs.count * partialLength) { partials in
        partials.update(repeating: 0, count: schedule.slabs.count * partialLength)
        schedule.run { slab, images in
            (dImage + images.lowerBound * g.imageLength).update(repeating: 0, count: images.count * g.imageLength)
            let rowsMax = schedule.chunkRows
            withScratch(rowsMax * (depth + k + n)) { scratch in
                let patches = scratch                                  // [chunkRows, K (+1)]
                let dPatches = patches + rowsMax * depth               // [chunkRows, K]
                let deltaBuffer = dPatches + rowsMax * k               // [chunkRows, N]
                if depth > k { for r in 0 ..< rowsMax { patches[r * depth + k] = 1 } }
                for rows in schedule.chunks(images, g) {
                    let delta = source.rows(rows, g, columns: n, buffer: deltaBuffer)
                    im2col(g, image: image, rows: rows, patches: patches, rowStride: depth)
                    gemm(transposeA: true, transposeB: false, m: depth, n: n, k: rows.count,
                         a: patches, lda: depth, b: delta, ldb: n, beta: 1, c: partials + slab * partialLength, ldc: n,
                         threaded: schedule.threadedGEMM)
                    transposed.multiplyInPlace(m: rows.count, a: delta, lda: n, beta: 0, c: dPatches, ldc: k)
                    col2im(g, patches: dPatches, rows: rows, image: dImage)
                }
            }
        }
        addPartials(partials, slabs: schedule.slabs.count, length: partialLength, k: k, n: n,
                    dMatrix: dMatrix, dBias: dBias)
    }
}

/// Conv2DTranspose backward for `L = sum(image * imageGradient)`, both
/// (B, H, W, C): with `delta = imageGradient * activation'(image)`, accumulates
/// `dMatrix[K, N] += im2col(delta)^T x rows` and `dBias[C] += sum over pixels of
/// delta`, and overwrites `dRows[R, N] = im2col(delta) x matrix`.
func convolutionTransposedBackward(
    _ g: ConvolutionGeometry, rows x: UnsafePointer<Float>, matrix: UnsafePointer<Float>, columns n: Int,
    image: UnsafePointer<Float>, imageGradient: UnsafePointer<Float>, activation: Activation,
    dMatrix: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>?, dRows: UnsafeMutablePointer<Float>
) {
    let (k, c) = (g.patchLength, g.channels)
    let schedule = ConvolutionSchedule(g)
    let partialLength = k * n + c                                      // [K, N] then [C], per slab
    let largestSlab = schedule.slabs.map(\.count).max() ?? 0
    withScratch(schedule.slabs.count * partialLength) { partials in
        partials.update(repeating: 0, count: schedule.slabs.count * partialLength)
        schedule.run { slab, images in
            let dM = partials + slab * partialLength, dB = dM + k * n
            let slabCount = images.count * g.imageLength
            let deltaLength = activation == .linear ? 0 : largestSlab * g.imageLength
            withScratch(schedule.chunkRows * k + deltaLength) { scratch in
                let patches = scratch                                  // [chunkRows, K]
                // The slab's delta (images, H, W, C), read as a batch of its own.
                var delta = imageGradient + images.lowerBound * g.imageLength
                if activation != .linear {
                    let buffer = scratch + schedule.chunkRows * k
                    buffer.update(from: delta, count: slabCount)
                    activation.backward(output: image + images.lowerBound * g.imageLength,
                                       gradient: buffer, count: slabCount)
                    delta = UnsafePointer(buffer)
                }
                for pixel in 0 ..< slabCount / c { for j in 0 ..< c { dB[j] += delta[pixel * c + j] } }
                let first = images.lowerBound * g.rowsPerImage          // slab rows, renumbered from 0
                let local = g.with(batch: images.count)
                for rows in schedule.chunks(images, g) {
                    im2col(local, image: delta, rows: rows.lowerBound - first ..< rows.upperBound - first,
                           patches: patches, rowStride: k)
                    gemm(transposeA: true, transposeB: false, m: k, n: n, k: rows.count,
                         a: patches, lda: k, b: x + rows.lowerBound * n, ldb: n, beta: 1, c: dM, ldc: n,
                         threaded: schedule.threadedGEMM)
                    gemm(transposeA: false, transposeB: false, m: rows.count, n: n, k: k,
                         a: patches, lda: k, b: matrix, ldb: n, beta: 0, c: dRows + rows.lowerBound * n, ldc: n,
                         threaded: schedule.threadedGEMM)
                }
            }
        }
        addPartials(partials, slabs: schedule.slabs.count, length: partialLength, k: k, n: n,
                    dMatrix: dMatrix, dBias: dBias)
    }
}

/// Adds each slab's partial `[K, N]` matrix gradient and the bias gradient
/// after it (`length - K * N` values, none without bias), in slab order, into
/// the caller's accumulators.
private func addPartials(
    _ partials: UnsafePointer<Float>, slabs: Int, length: Int, k: Int, n: Int,
    dMatrix: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>?
) {
    for slab in 0 ..< slabs {
        let p = partials + slab * length
        for i in 0 ..< k * n { dMatrix[i] += p[i] }
        if let dBias { for j in 0 ..< length - k * n { dBias[j] += p[k * n + j] } }
    }
}

extension ConvolutionGeometry {
    /// The same convolution over `batch` images.
    func with(batch: Int) -> ConvolutionGeometry {
        ConvolutionGeometry(
            batch: batch, height: height, width: width, channels: channels,
            kernelHeight: kernelHeight, kernelWidth: kernelWidth, strideHeight: strideHeight,
            strideWidth: strideWidth, dilationHeight: dilationHeight, dilationWidth: dilationWidth,
            padTop: padTop, padLeft: padLeft, outputHeight: outputHeight, outputWidth: outputWidth)
    }
}

// A 3 x 3, stride 1, `same`-padded correlation by Winograd's minimal filtering
// F(2x2, 3x3) (Lavin and Gray, 2016): each 2 x 2 block of outputs costs 16
// products per channel pair instead of 36, so the recurrent convolution of a
// 3 x 3 ConvLSTM (and its transpose in backward) does 2.25 times fewer
// multiplies than as one im2col product.
//
// Legend: OH x OW the image (input and output alike), Ci input channels, Co
// output channels; tiles are the 2 x 2 output blocks, TH x TW = ceil(OH / 2) x
// ceil(OW / 2) of them per image; xi = (i, j) in 4 x 4 the transformed
// positions; R the tiles of one block.
//
// Reference equations, for the tile with top-left output pixel (y0, x0):
//   d = image[y0-1 ..< y0+3, x0-1 ..< x0+3, :]     4 x 4 x Ci, zero outside
//   V[xi] = (B^T d B)[xi]                         [Ci] per tile
//   U[xi] = (G g G^T)[xi]                         [Ci, Co], once per kernel
//   M[xi] = V[xi] x U[xi]                         [R, Co]: 16 products per block
//   out[y0 ..< y0+2, x0 ..< x0+2, :] += A^T M A     (outputs past the image dropped)
// with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5;
// .5 -.5 .5; 0 0 1], A^T = [1 1 1 0; 0 1 -1 -1].
//
// Memory plan: the 16 transformed kernels packed once (PackedMatrixB, shared by
// the parts: multiplyInPlace reads them only); per part V [16, R, Ci],
// M [16, R, Co] and a zero row for the padding; all allocated at init, so
// `accumulate` never allocates.

internal import CFrameKernels
import FrameSequencing
internal import FrameSequencingRuntime

/// Winograd F(2x2, 3x3) correlation of one (OH, OW, Ci) image with a fixed
/// (3, 3, Ci, Co) kernel, in blocks of tiles that parts of the worker pool can
/// run at once (see the file comment). Not for one part from two threads at once.
final class Winograd3x3 {
    // Not Sendable (per-part scratch pointers): it is made and dropped inside
    // one forward or backward kernel call and reaches the pool's threads only
    // through `WorkerPool.run`'s non-Sendable closure, where part `p`'s scratch
    // is used only by the thread running part `p` (`forEachItem`); the packed
    // kernels are only read.
    let height: Int, width: Int
    let inputChannels: Int, outputChannels: Int
    let tilesHigh: Int, tilesWide: Int
    /// Tiles per block: three micro-kernel row panels.
    let blockTiles: Int
    /// Which kernels run the tile transforms (the products follow `GEMMKernelPath.active`).
    let path: GEMMKernelPath
    private let products: [PackedMatrixB]            // [xi]
    private let scratch: UnsafeMutablePointer<Float>
    private let perPart: Int

    /// Transforms and packs `kernel` (3, 3, Ci, Co) for `parts` parts.
    init(height: Int, width: Int, inputChannels: Int, outputChannels: Int, kernel: UnsafePointer<Float>, parts: Int,
         path: GEMMKernelPath = .active) {
        self.path = path
        self.height = height
        self.width = width
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        tilesHigh = (height + 1) / 2
        tilesWide = (width + 1) / 2
        let tiles = min(3 * GEMMKernelPath.active.blocking.mr, tilesHigh * tilesWide)
        blockTiles = tiles
        let transformed = winogradKernel(kernel, inputChannels: inputChannels, outputChannels: outputChannels)
        products = transformed.withUnsafeBufferPointer { u in
            (0 ..< 16).map { xi in   // multiplyInPlace only: no rows of A are packed
                PackedMatrixB(b: u.baseAddress! + xi * inputChannels * outputChannels, ldb: outputChannels,
                              transposed: false, k: inputChannels, n: outputChannels, maximumRows: 1)
            }
        }
        perPart = 16 * blockTiles * (inputChannels + outputChannels) + inputChannels
        scratch = UnsafeMutablePointer<Float>.allocate(capacity: parts * perPart)
        scratch.update(repeating: 0, count: parts * perPart)
    }

    deinit { scratch.deallocate() }

    /// Blocks of tiles per image.
    var blocksPerImage: Int { (tilesHigh * tilesWide + blockTiles - 1) / blockTiles }

    /// Blocks per row of tiles when blocks stay inside one row (`rowBlock`).
    var rowBlocksPerTileRow: Int { (tilesWide + blockTiles - 1) / blockTiles }

    /// Row blocks per image: `rowBlocksPerTileRow` for each row of tiles.
    var rowBlocksPerImage: Int { tilesHigh * rowBlocksPerTileRow }

    /// The tiles of row block `index` (0 ..< rowBlocksPerImage): a run of at
    /// most `blockTiles` tiles inside one row of tiles, so its pixels are two
    /// runs of consecutive pixels (one per image row), the rows split evenly.
    func rowBlock(_ index: Int) -> Range<Int> {
        let (row, block) = index.quotientAndRemainder(dividingBy: rowBlocksPerTileRow)
        let columns = chunk(block, of: rowBlocksPerTileRow, count: tilesWide)
        return row * tilesWide + columns.lowerBound ..< row * tilesWide + columns.upperBound
    }

    /// Adds the correlation of `image` ([OH, OW, Ci]) with the kernel, for the
    /// tiles of `block`, to `output` (pixel (y, x) at `output + (y * OW + x) *
    /// outputStride`, Co values), or overwrites those pixels with it when
    /// `overwrite`. Touches only the block's pixels.
    func accumulate(image: UnsafePointer<Float>, block: Int, output: UnsafeMutablePointer<Float>, outputStride: Int,
                    part: Int, overwrite: Bool = false) {
        let first = block * blockTiles
        accumulate(image: image, tiles: first ..< min(first + blockTiles, tilesHigh * tilesWide), output: output,
                   outputStride: outputStride, outputOrigin: 0, part: part, overwrite: overwrite)
    }

    /// `accumulate(image:block:...)` for the tiles `tiles` (row-major tile
    /// indices, at most `blockTiles` of them), with pixel (y, x) at `output +
    /// (y * OW + x - outputOrigin) * outputStride`: a caller can keep the outputs
    /// of a few rows of tiles in a small buffer.
    func accumulate(image: UnsafePointer<Float>, tiles: Range<Int>, output: UnsafeMutablePointer<Float>,
                    outputStride: Int, outputOrigin: Int, part: Int, overwrite: Bool = false) {
        let (ci, co) = (inputChannels, outputChannels)
        let (first, count) = (tiles.lowerBound, tiles.count)
        precondition(count <= blockTiles, "at most blockTiles tiles per call")
        let v = scratch + part * perPart                         // [16, R, Ci]
        let m = v + 16 * blockTiles * ci                         // [16, R, Co]
        let zero = UnsafePointer(m + 16 * blockTiles * co)       // [Ci] zeros
        if path == .swift {
            for r in 0 ..< count {
                let (ty, tx) = (first + r).quotientAndRemainder(dividingBy: tilesWide)
                winogradInputTile(image: image, height: height, width: width, channels: ci, zero: zero, y0: 2 * ty - 1,
                                  x0: 2 * tx - 1, into: v + r * ci, planeStride: blockTiles * ci)
            }
        } else {
            var tiles = fsk_winograd_tiles(
                image: image, output: nil, output_stride: 0, output_origin: 0, overwrite: 0, height: height, width: width,
                channels: ci, tiles_wide: tilesWide, zero: zero, first: first, count: count, v: v,
                plane_stride: blockTiles * ci)
            if path == .avx512 { fsk_winograd_input_avx512(&tiles) } else { fsk_winograd_input_avx2(&tiles) }
        }
        for xi in 0 ..< 16 {
            products[xi].multiplyInPlace(m: count, a: v + xi * blockTiles * ci, lda: ci, beta: 0,
                                               c: m + xi * blockTiles * co, ldc: co)
        }
        if path == .swift {
            for r in 0 ..< count {
                let (ty, tx) = (first + r).quotientAndRemainder(dividingBy: tilesWide)
                winogradOutputTile(m + r * co, planeStride: blockTiles * co, y0: 2 * ty, x0: 2 * tx, output: output,
                                   outputStride: outputStride, outputOrigin: outputOrigin, overwrite: overwrite)
            }
        } else {
            var tiles = fsk_winograd_tiles(
                image: nil, output: output, output_stride: outputStride, output_origin: outputOrigin,
                overwrite: overwrite ? 1 : 0, height: height, width: width, channels: co, tiles_wide: tilesWide, zero: nil,
                first: first, count: count, v: m,
                plane_stride: blockTiles * co)
            if path == .avx512 { fsk_winograd_output_avx512(&tiles) } else { fsk_winograd_output_avx2(&tiles) }
        }
    }

    /// Adds A^T M A of one tile to (or writes it over) its output pixels that lie in the image.
    @inline(__always)
    private func winogradOutputTile(_ m: UnsafePointer<Float>, planeStride: Int, y0: Int, x0: Int,
                                    output: UnsafeMutablePointer<Float>, outputStride: Int, outputOrigin: Int,
                                    overwrite: Bool) {
        let co = outputChannels
        let (right, below) = (x0 + 1 < width, y0 + 1 < height)
        let o00 = output + (y0 * width + x0 - outputOrigin) * outputStride
        // Pixels past the image (last tile row or column of an odd size) are not written.
        let o01 = right ? o00 + outputStride : nil
        let o10 = below ? o00 + width * outputStride : nil
        let o11 = right && below ? o00 + (width + 1) * outputStride : nil
        var k = 0
        while k + 4 <= co {
            winogradOutputTransform(m + k, planeStride, o00 + k, o01.map { $0 + k }, o10.map { $0 + k }, o11.map { $0 + k },
                                    overwrite)
            k += 4
        }
        while k < co {
            winogradOutputTransformScalar(m + k, planeStride, o00 + k, o01.map { $0 + k }, o10.map { $0 + k },
                                          o11.map { $0 + k }, overwrite)
            k += 1
        }
    }
}

/// V = B^T d B of one tile of an [OH, OW, channels] image: d is the 4 x 4
/// window at (y0, x0) (`zero`, a row of zeros, outside the image); plane xi
/// of V at `v + xi * planeStride`.
@inline(__always)
func winogradInputTile(image: UnsafePointer<Float>, height: Int, width: Int, channels ci: Int, zero: UnsafePointer<Float>,
                       y0: Int, x0: Int, into v: UnsafeMutablePointer<Float>, planeStride: Int) {
    @inline(__always) func pixel(_ i: Int, _ j: Int) -> UnsafePointer<Float> {
        let (y, x) = (y0 + i, x0 + j)
        return y >= 0 && y < height && x >= 0 && x < width ? image + (y * width + x) * ci : zero
    }
    let d = (pixel(0, 0), pixel(0, 1), pixel(0, 2), pixel(0, 3), pixel(1, 0), pixel(1, 1), pixel(1, 2), pixel(1, 3),
             pixel(2, 0), pixel(2, 1), pixel(2, 2), pixel(2, 3), pixel(3, 0), pixel(3, 1), pixel(3, 2), pixel(3, 3))
    // 4 channels at a time as vectors (the pointers may alias, so the compiler
    // would not vectorize the scalar loop), then the rest one by one.
    var c = 0
    while c + 4 <= ci {
        winogradInputTransform(d, c, v + c, planeStride)
        c += 4
    }
    while c < ci {
        winogradInputTransformScalar(d, c, v + c, planeStride)
        c += 1
    }
}

typealias WinogradWindow = (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                            UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                            UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                            UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>)

// The two transforms, written once for 4 lanes (SIMD4, one SSE register in a
// baseline x86-64 build) and once for one (the channels past the last multiple
// of 4), each a row of the 4 x 4 window at a time so the live values fit in
// the 16 vector registers: whole-window SIMD16 code spills, and a generic
// version over both lane types is slower again, SIMD arithmetic through a
// protocol not being specialized (see Docs/Performance.md, "Design measurements").

@inline(__always) func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
}

@inline(__always) func store4(_ v: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Float>.self)
}

/// V = B^T d B for the 4 channels at `c` of the window pixels `d` (row-major
/// 4 x 4), stored `planeStride` apart from `v` (plane xi = 4i + j).
@inline(__always)
private func winogradInputTransform(_ d: WinogradWindow, _ c: Int, _ v: UnsafeMutablePointer<Float>, _ planeStride: Int) {
    // Row i of t = B^T d from two rows of d; then v's row i = t's row i times B.
    @inline(__always) func row(_ i: Int, _ a: SIMD4<Float>, _ b: SIMD4<Float>, _ e: SIMD4<Float>, _ h: SIMD4<Float>) {
        let s = v + 4 * i * planeStride
        store4(a - e, s)
        store4(b + e, s + planeStride)
        store4(e - b, s + 2 * planeStride)
        store4(b - h, s + 3 * planeStride)
    }
    var (r0, r1) = ((load4(d.0 + c), load4(d.1 + c), load4(d.2 + c), load4(d.3 + c)),
                    (load4(d.8 + c), load4(d.9 + c), load4(d.10 + c), load4(d.11 + c)))
    row(0, r0.0 - r1.0, r0.1 - r1.1, r0.2 - r1.2, r0.3 - r1.3)                      // d0 - d2
    r0 = (load4(d.4 + c), load4(d.5 + c), load4(d.6 + c), load4(d.7 + c))          // d1
    row(1, r0.0 + r1.0, r0.1 + r1.1, r0.2 + r1.2, r0.3 + r1.3)                      // d1 + d2
    row(2, r1.0 - r0.0, r1.1 - r0.1, r1.2 - r0.2, r1.3 - r0.3)                      // d2 - d1
    r1 = (load4(d.12 + c), load4(d.13 + c), load4(d.14 + c), load4(d.15 + c))      // d3
    row(3, r0.0 - r1.0, r0.1 - r1.1, r0.2 - r1.2, r0.3 - r1.3)                      // d1 - d3
}

/// `winogradInputTransform` for the one channel at `c`.
@inline(__always)
private func winogradInputTransformScalar(_ d: WinogradWindow, _ c: Int, _ v: UnsafeMutablePointer<Float>, _ planeStride: Int) {
    @inline(__always) func row(_ i: Int, _ a: Float, _ b: Float, _ e: Float, _ h: Float) {
        let s = v + 4 * i * planeStride
        s[0] = a - e
        s[planeStride] = b + e
        s[2 * planeStride] = e - b
        s[3 * planeStride] = b - h
    }
    row(0, d.0[c] - d.8[c], d.1[c] - d.9[c], d.2[c] - d.10[c], d.3[c] - d.11[c])
    row(1, d.4[c] + d.8[c], d.5[c] + d.9[c], d.6[c] + d.10[c], d.7[c] + d.11[c])
    row(2, d.8[c] - d.4[c], d.9[c] - d.5[c], d.10[c] - d.6[c], d.11[c] - d.7[c])
    row(3, d.4[c] - d.12[c], d.5[c] - d.13[c], d.6[c] - d.14[c], d.7[c] - d.15[c])
}

/// Adds y = A^T M A for the 4 lanes at `m` (plane xi `planeStride` apart) to
/// (or, with `overwrite`, writes it over) the tile's four output pixels (nil:
/// outside the image).
@inline(__always)
private func winogradOutputTransform(
    _ m: UnsafePointer<Float>, _ planeStride: Int, _ o00: UnsafeMutablePointer<Float>, _ o01: UnsafeMutablePointer<Float>?,
    _ o10: UnsafeMutablePointer<Float>?, _ o11: UnsafeMutablePointer<Float>?, _ overwrite: Bool
) {
    @inline(__always) func put(_ y: SIMD4<Float>, _ o: UnsafeMutablePointer<Float>) {
        store4(overwrite ? y : load4(o) + y, o)
    }
    // Row i of r = M A is (m_i0 + m_i1 + m_i2, m_i1 - m_i2 - m_i3); y = A^T r
    // adds rows 0-2 into y's first row and rows 1 - 2 - 3 into its second.
    @inline(__always) func r(_ i: Int) -> (SIMD4<Float>, SIMD4<Float>) {
        let row = m + 4 * i * planeStride
        let (a, b, e, h) = (load4(row), load4(row + planeStride), load4(row + 2 * planeStride), load4(row + 3 * planeStride))
        return (a + b + e, b - e - h)
    }
    let r0 = r(0), r1 = r(1), r2 = r(2)
    put(r0.0 + r1.0 + r2.0, o00)
    if let o01 { put(r0.1 + r1.1 + r2.1, o01) }
    guard o10 != nil || o11 != nil else { return }
    let r3 = r(3)
    if let o10 { put(r1.0 - r2.0 - r3.0, o10) }
    if let o11 { put(r1.1 - r2.1 - r3.1, o11) }
}

/// `winogradOutputTransform` for the one lane at `m`.
@inline(__always)
private func winogradOutputTransformScalar(
    _ m: UnsafePointer<Float>, _ planeStride: Int, _ o00: UnsafeMutablePointer<Float>, _ o01: UnsafeMutablePointer<Float>?,
    _ o10: UnsafeMutablePointer<Float>?, _ o11: UnsafeMutablePointer<Float>?, _ overwrite: Bool
) {
    @inline(__always) func at(_ xi: Int) -> Float { m[xi * planeStride] }
    @inline(__always) func put(_ y: Float, _ o: UnsafeMutablePointer<Float>) { o.pointee = overwrite ? y : o.pointee + y }
    let r00 = at(0) + at(1) + at(2), r01 = at(1) - at(2) - at(3)
    let r10 = at(4) + at(5) + at(6), r11 = at(5) - at(6) - at(7)
    let r20 = at(8) + at(9) + at(10), r21 = at(9) - at(10) - at(11)
    let r30 = at(12) + at(13) + at(14), r31 = at(13) - at(14) - at(15)
    put(r00 + r10 + r20, o00)
    if let o01 { put(r01 + r11 + r21, o01) }
    if let o10 { put(r10 - r20 - r30, o10) }
    if let o11 { put(r11 - r21 - r31, o11) }
}

/// U[xi] = (G g G^T)[xi] for every (Ci, Co) pair of a (3, 3, Ci, Co) kernel:
/// [16, Ci, Co], computed in Double.
func winogradKernel(_ kernel: UnsafePointer<Float>, inputChannels: Int, outputChannels: Int) -> [Float] {
    let g: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
    let plane = inputChannels * outputChannels
    var u = [Float](repeating: 0, count: 16 * plane)
    for i in 0 ..< 4 {
        for j in 0 ..< 4 {
            for e in 0 ..< plane {
                var sum = 0.0
                for a in 0 ..< 3 {
                    for b in 0 ..< 3 where g[i][a] != 0 && g[j][b] != 0 {
                        sum += g[i][a] * g[j][b] * Double(kernel[(a * 3 + b) * plane + e])
                    }
                }
                u[(i * 4 + j) * plane + e] = Float(sum)
            }
        }
    }
    return u
}

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
// Memory plan: per part, the 16 transformed kernels packed once
// (PackedMatrixB), V [16, R, Ci], M [16, R, Co] and a zero row for the
// padding, all allocated at init; `accumulate` never allocates.

import FrameSequencing

/// Winograd F(2x2, 3x3) correlation of one (OH, OW, Ci) image with a fixed
/// (3, 3, Ci, Co) kernel, in blocks of tiles that parts of the worker pool can
/// run at once (see the file comment). Not for one part from two threads at once.
final class Winograd3x3: @unchecked Sendable {
    // @unchecked: per-part scratch, used by one thread at a time (documented).
    let height: Int, width: Int
    let inputChannels: Int, outputChannels: Int
    let tilesHigh: Int, tilesWide: Int
    /// Tiles per block: three micro-kernel row panels.
    let blockTiles: Int
    private let products: [[PackedMatrixB]]          // [part][xi]
    private let scratch: UnsafeMutablePointer<Float>
    private let perPart: Int

    /// Transforms and packs `kernel` (3, 3, Ci, Co) for `parts` parts.
    init(height: Int, width: Int, inputChannels: Int, outputChannels: Int, kernel: UnsafePointer<Float>, parts: Int) {
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
            (0 ..< parts).map { _ in
                (0 ..< 16).map { xi in
                    PackedMatrixB(b: u.baseAddress! + xi * inputChannels * outputChannels, ldb: outputChannels,
                                  transposed: false, k: inputChannels, n: outputChannels, maximumRows: tiles)
                }
            }
        }
        perPart = 16 * blockTiles * (inputChannels + outputChannels) + inputChannels
        scratch = UnsafeMutablePointer<Float>.allocate(capacity: parts * perPart)
        scratch.update(repeating: 0, count: parts * perPart)
    }

    deinit { scratch.deallocate() }

    /// Blocks of tiles per image.
    var blocksPerImage: Int { (tilesHigh * tilesWide + blockTiles - 1) / blockTiles }

    /// Adds the correlation of `image` ([OH, OW, Ci]) with the kernel, for the
    /// tiles of `block`, to `output` (pixel (y, x) at `output + (y * OW + x) *
    /// outputStride`, Co values). Accumulates; touches only the block's pixels.
    func accumulate(image: UnsafePointer<Float>, block: Int, output: UnsafeMutablePointer<Float>, outputStride: Int,
                    part: Int) {
        let (ci, co) = (inputChannels, outputChannels)
        let first = block * blockTiles
        let count = min(blockTiles, tilesHigh * tilesWide - first)
        let v = scratch + part * perPart                         // [16, R, Ci]
        let m = v + 16 * blockTiles * ci                         // [16, R, Co]
        let zero = UnsafePointer(m + 16 * blockTiles * co)       // [Ci] zeros
        for r in 0 ..< count {
            let (ty, tx) = (first + r).quotientAndRemainder(dividingBy: tilesWide)
            winogradInputTile(image: image, zero: zero, y0: 2 * ty - 1, x0: 2 * tx - 1, into: v + r * ci,
                              planeStride: blockTiles * ci)
        }
        for xi in 0 ..< 16 {
            products[part][xi].multiply(m: count, a: v + xi * blockTiles * ci, lda: ci, beta: 0,
                                        c: m + xi * blockTiles * co, ldc: co, threaded: false)
        }
        for r in 0 ..< count {
            let (ty, tx) = (first + r).quotientAndRemainder(dividingBy: tilesWide)
            winogradOutputTile(m + r * co, planeStride: blockTiles * co, y0: 2 * ty, x0: 2 * tx, output: output,
                               outputStride: outputStride)
        }
    }

    /// V of one tile: d is the 4 x 4 window at (y0, x0) (zero outside the image).
    @inline(__always)
    private func winogradInputTile(image: UnsafePointer<Float>, zero: UnsafePointer<Float>, y0: Int, x0: Int,
                                   into v: UnsafeMutablePointer<Float>, planeStride: Int) {
        let ci = inputChannels
        func pixel(_ i: Int, _ j: Int) -> UnsafePointer<Float> {
            let (y, x) = (y0 + i, x0 + j)
            return y >= 0 && y < height && x >= 0 && x < width ? image + (y * width + x) * ci : zero
        }
        let (p00, p01, p02, p03) = (pixel(0, 0), pixel(0, 1), pixel(0, 2), pixel(0, 3))
        let (p10, p11, p12, p13) = (pixel(1, 0), pixel(1, 1), pixel(1, 2), pixel(1, 3))
        let (p20, p21, p22, p23) = (pixel(2, 0), pixel(2, 1), pixel(2, 2), pixel(2, 3))
        let (p30, p31, p32, p33) = (pixel(3, 0), pixel(3, 1), pixel(3, 2), pixel(3, 3))
        for c in 0 ..< ci {
            // t = B^T d, row by row.
            let (t00, t01, t02, t03) = (p00[c] - p20[c], p01[c] - p21[c], p02[c] - p22[c], p03[c] - p23[c])
            let (t10, t11, t12, t13) = (p10[c] + p20[c], p11[c] + p21[c], p12[c] + p22[c], p13[c] + p23[c])
            let (t20, t21, t22, t23) = (p20[c] - p10[c], p21[c] - p11[c], p22[c] - p12[c], p23[c] - p13[c])
            let (t30, t31, t32, t33) = (p10[c] - p30[c], p11[c] - p31[c], p12[c] - p32[c], p13[c] - p33[c])
            // v = t B, column by column.
            let s = v + c
            s[0] = t00 - t02; s[planeStride] = t01 + t02; s[2 * planeStride] = t02 - t01; s[3 * planeStride] = t01 - t03
            s[4 * planeStride] = t10 - t12; s[5 * planeStride] = t11 + t12
            s[6 * planeStride] = t12 - t11; s[7 * planeStride] = t11 - t13
            s[8 * planeStride] = t20 - t22; s[9 * planeStride] = t21 + t22
            s[10 * planeStride] = t22 - t21; s[11 * planeStride] = t21 - t23
            s[12 * planeStride] = t30 - t32; s[13 * planeStride] = t31 + t32
            s[14 * planeStride] = t32 - t31; s[15 * planeStride] = t31 - t33
        }
    }

    /// Adds A^T M A of one tile to its output pixels that lie in the image.
    @inline(__always)
    private func winogradOutputTile(_ m: UnsafePointer<Float>, planeStride: Int, y0: Int, x0: Int,
                                    output: UnsafeMutablePointer<Float>, outputStride: Int) {
        let co = outputChannels
        let (right, below) = (x0 + 1 < width, y0 + 1 < height)
        let o00 = output + (y0 * width + x0) * outputStride
        let o01 = o00 + outputStride, o10 = o00 + width * outputStride, o11 = o10 + outputStride
        for k in 0 ..< co {
            func at(_ xi: Int) -> Float { m[xi * planeStride + k] }
            // r = M A, row by row; then y = A^T r.
            let r00 = at(0) + at(1) + at(2), r01 = at(1) - at(2) - at(3)
            let r10 = at(4) + at(5) + at(6), r11 = at(5) - at(6) - at(7)
            let r20 = at(8) + at(9) + at(10), r21 = at(9) - at(10) - at(11)
            let r30 = at(12) + at(13) + at(14), r31 = at(13) - at(14) - at(15)
            o00[k] += r00 + r10 + r20
            if right { o01[k] += r01 + r11 + r21 }
            if below {
                o10[k] += r10 - r20 - r30
                if right { o11[k] += r11 - r21 - r31 }
            }
        }
    }
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

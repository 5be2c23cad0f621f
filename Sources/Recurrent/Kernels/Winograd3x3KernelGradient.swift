// The kernel gradient of the Winograd F(2x2, 3x3) correlation of
// Winograd3x3.swift: for L = sum(out * dOut), with out = correlate(image, g),
// 2.25 times fewer multiplies than im2col(image)^T x dOut.
//
// Legend as in Winograd3x3.swift (OH x OW, Ci, Co, tiles, xi, R).
//
// Per tile, out = A^T [U ⊙ V] A with U = G g G^T, so by the chain rule
//   dU = (A dOut_tile A^T) ⊙ V = D ⊙ V  and  dg = G^T dU G.
// Summed over tiles and channel pairs:
//   S[xi][Ci, Co] = sum over tiles of V[xi][tile, Ci]^T D[xi][tile, Co]   (16 products per block)
//   dKernel[a, b] += sum over (i, j) of G[i][a] S[4i + j] G[j][b]          (once, at the end)
// with A = (A^T)^T = [1 0; 1 1; 1 -1; 0 -1]; output pixels past the image
// have no gradient (their dOut is taken as 0).
//
// Memory plan: per part, V [16, R, Ci], D [16, R, Co] and the partial sums S
// [16, Ci, Co], allocated at init; parts are added in order at the end.

import FrameSequencing

/// Accumulates the kernel gradient of a 3 x 3 same-padded correlation of
/// (OH, OW, Ci) images, in blocks of tiles over parts of the worker pool (see
/// the file comment). Not for one part from two threads at once.
final class Winograd3x3KernelGradient: @unchecked Sendable {
    // @unchecked: per-part scratch, used by one thread at a time (documented).
    let height: Int, width: Int
    let inputChannels: Int, outputChannels: Int
    let tilesWide: Int, tileCount: Int
    /// Tiles per block: the depth of each of the 16 products.
    let blockTiles: Int
    private let parts: Int
    private let scratch: UnsafeMutablePointer<Float>
    private let perPart: Int

    init(height: Int, width: Int, inputChannels: Int, outputChannels: Int, parts: Int) {
        self.height = height
        self.width = width
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        tilesWide = (width + 1) / 2
        tileCount = ((height + 1) / 2) * tilesWide
        blockTiles = min(64, tileCount)
        self.parts = parts
        perPart = 16 * (blockTiles * (inputChannels + outputChannels) + inputChannels * outputChannels) + inputChannels
        scratch = UnsafeMutablePointer<Float>.allocate(capacity: parts * perPart)
        scratch.update(repeating: 0, count: parts * perPart)
    }

    deinit { scratch.deallocate() }

    /// Blocks of tiles per image.
    var blocksPerImage: Int { (tileCount + blockTiles - 1) / blockTiles }

    /// Adds the tiles of `block` to part `part`'s partial sums: `image` is the
    /// correlation's input [OH, OW, Ci], `outputGradient` dOut (pixel (y, x) at
    /// `outputGradient + (y * OW + x) * gradientStride`, Co values).
    func accumulate(image: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, gradientStride: Int, block: Int,
                    part: Int) {
        let (ci, co) = (inputChannels, outputChannels)
        let first = block * blockTiles
        let count = min(blockTiles, tileCount - first)
        let v = scratch + part * perPart                         // [16, R, Ci]
        let d = v + 16 * blockTiles * ci                         // [16, R, Co]
        let s = d + 16 * blockTiles * co                         // [16, Ci, Co]
        let zero = UnsafePointer(s + 16 * ci * co)               // [Ci] zeros
        for r in 0 ..< count {
            let (ty, tx) = (first + r).quotientAndRemainder(dividingBy: tilesWide)
            winogradInputTile(image: image, height: height, width: width, channels: ci, zero: zero, y0: 2 * ty - 1,
                              x0: 2 * tx - 1, into: v + r * ci, planeStride: blockTiles * ci)
            gradientTile(outputGradient, gradientStride, y0: 2 * ty, x0: 2 * tx, into: d + r * co,
                         planeStride: blockTiles * co)
        }
        for xi in 0 ..< 16 {
            gemm(transposeA: true, transposeB: false, m: ci, n: co, k: count, a: v + xi * blockTiles * ci, lda: ci,
                 b: d + xi * blockTiles * co, ldb: co, beta: 1, c: s + xi * ci * co, ldc: co, threaded: false)
        }
    }

    /// Adds G^T S G, with S the parts' sums in part order, to `kernelGradient`
    /// (3, 3, Ci, Co).
    func add(into kernelGradient: UnsafeMutablePointer<Float>) {
        let plane = inputChannels * outputChannels
        let g: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
        var total = [Double](repeating: 0, count: 16 * plane)
        for part in 0 ..< parts {
            let s = scratch + part * perPart + 16 * blockTiles * (inputChannels + outputChannels)
            for i in 0 ..< 16 * plane { total[i] += Double(s[i]) }
        }
        for a in 0 ..< 3 {
            for b in 0 ..< 3 {
                let target = kernelGradient + (a * 3 + b) * plane
                for e in 0 ..< plane {
                    var sum = 0.0
                    for i in 0 ..< 4 where g[i][a] != 0 {
                        for j in 0 ..< 4 where g[j][b] != 0 { sum += g[i][a] * g[j][b] * total[(i * 4 + j) * plane + e] }
                    }
                    target[e] += Float(sum)
                }
            }
        }
    }

    /// D = A dOut A^T of the tile whose top-left output pixel is (y0, x0),
    /// pixels outside the image taken as 0; plane xi at `d + xi * planeStride`.
    @inline(__always)
    private func gradientTile(_ gradient: UnsafePointer<Float>, _ stride: Int, y0: Int, x0: Int,
                              into d: UnsafeMutablePointer<Float>, planeStride: Int) {
        let (right, below) = (x0 + 1 < width, y0 + 1 < height)
        let g00 = gradient + (y0 * width + x0) * stride
        let g01 = right ? g00 + stride : nil
        let g10 = below ? g00 + width * stride : nil
        let g11 = right && below ? g00 + (width + 1) * stride : nil
        var k = 0
        while k + 4 <= outputChannels {
            @inline(__always) func at(_ p: UnsafePointer<Float>?) -> SIMD4<Float> { p.map { load4($0 + k) } ?? .zero }
            let (a, b, c, e) = (at(g00), at(g01), at(g10), at(g11))   // dOut (0,0), (0,1), (1,0), (1,1)
            // Rows: (e0, e1, e2, e3) = (r0, r0 + r1, r0 - r1, -r1); then the same along columns.
            @inline(__always) func row(_ i: Int, _ u: SIMD4<Float>, _ w: SIMD4<Float>) {
                let s = d + k + 4 * i * planeStride
                store4(u, s)
                store4(u + w, s + planeStride)
                store4(u - w, s + 2 * planeStride)
                store4(-w, s + 3 * planeStride)
            }
            row(0, a, b)
            row(1, a + c, b + e)
            row(2, a - c, b - e)
            row(3, -c, -e)
            k += 4
        }
        while k < outputChannels {
            @inline(__always) func at(_ p: UnsafePointer<Float>?) -> Float { p.map { $0[k] } ?? 0 }
            let (a, b, c, e) = (at(g00), at(g01), at(g10), at(g11))
            @inline(__always) func row(_ i: Int, _ u: Float, _ w: Float) {
                let s = d + k + 4 * i * planeStride
                s[0] = u
                s[planeStride] = u + w
                s[2 * planeStride] = u - w
                s[3 * planeStride] = -w
            }
            row(0, a, b)
            row(1, a + c, b + e)
            row(2, a - c, b - e)
            row(3, -c, -e)
            k += 1
        }
    }
}

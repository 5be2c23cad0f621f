// Mean SSIM of one pair of channels-last frames, as scikit-image's
// `structural_similarity(gaussian_weights=True, sigma=1.5,
// use_sample_covariance=False, channel_axis=-1)` computes it, with the scalar
// twin the tests hold it to.
//
// Legend: H x W x C a frame; R = 5 the window radius (skimage's
// int(truncate * sigma + 0.5) with truncate 3.5), K = 2R + 1 = 11 taps;
// OH = H - 2R, OW = W - 2R the cropped map; w the normalized 1-D Gaussian,
// w[i] = exp(-(i - R)^2 / (2 sigma^2)) / sum (scipy's _gaussian_kernel1d).
//
// Reference equations (Wang et al. 2004, eq. 13; population (co)variances),
// for map pixel (y, x), y in R ..< H - R, x in R ..< W - R, and channel c,
// with sums over i, j in 0 ..< K and p = a[y + i - R, x + j - R, c], q likewise of b:
//   mu_a = sum w[i] w[j] p,  s_aa = sum w[i] w[j] p^2 - mu_a^2,  s_ab = sum w[i] w[j] p q - mu_a mu_b
//   S = (2 mu_a mu_b + C1)(2 s_ab + C2) / ((mu_a^2 + mu_b^2 + C1)(s_aa + s_bb + C2))
//   result = (1 / C) sum_c (1 / (OH OW)) sum_(y, x) S
// skimage filters the whole frame with mode 'reflect' and then crops R pixels
// from every side before the mean; every window of the cropped map lies inside
// the frame, so the boundary rule never reaches the result and both kernels
// compute only that map (a "valid" filter).
//
// Both kernels work in Double. The fast one is written so that swapping a and
// b, or passing b == a, changes no rounding: products are formed as
// w * (p * q), and 2 mu_a mu_b + C1 equals mu_a^2 + mu_b^2 + C1 exactly when
// mu_a == mu_b (likewise the contrast terms), so SSIM(a, a) is exactly 1 and
// SSIM(a, b) == SSIM(b, a) bit for bit.

import Foundation  // exp in Double, for the window's weights
import FrameSequencing

/// The window radius R: 11 x 11 taps.
let ssimRadius = 5
/// The Gaussian's standard deviation, in pixels.
let ssimSigma = 1.5

/// The 1-D window w (K = 11 taps, summing to 1) as scipy builds it.
let ssimWeights: [Double] = {
    let taps = (-ssimRadius ... ssimRadius).map { i in exp(-0.5 / (ssimSigma * ssimSigma) * Double(i * i)) }
    let total = taps.reduce(0, +)
    return taps.map { $0 / total }
}()

/// The scratch one frame pair needs: `10 * W * C + C` Doubles.
func ssimScratchCount(width: Int, channels: Int) -> Int { 10 * width * channels + channels }

/// Mean SSIM of `a` and `b`, each (H, W, C) row-major Float32, H and W at
/// least K, C at least 1; `c1`, `c2` the stabilizers `(K1 L)^2`, `(K2 L)^2`.
/// Overwrites `scratch` (``ssimScratchCount(width:channels:)`` Doubles); no allocation.
///
/// Rows of the map are made one at a time: the vertical pass sums K frame
/// rows into five (W * C) rows of column moments (mu_a, mu_b, E[a^2], E[b^2],
/// E[ab] before the horizontal pass), the horizontal pass sums K of their
/// entries C apart into five (OW * C) rows, and those become SSIM values.
/// Both passes are axpy loops over contiguous memory, which the compiler
/// vectorizes; keeping the K-tap sums in registers instead (one store per
/// result) measured slower.
///
/// - Complexity: `O(H * W * C * K)` time, `O(W * C)` space.
func ssimMean(
    a: UnsafePointer<Float>, b: UnsafePointer<Float>, height: Int, width: Int, channels: Int,
    c1: Double, c2: Double, scratch: UnsafeMutablePointer<Double>
) -> Double {
    let k = 2 * ssimRadius + 1
    precondition(height >= k && width >= k && channels >= 1, "ssimMean: frame smaller than the window")
    let rowLength = width * channels                     // W * C
    let mapLength = (width - 2 * ssimRadius) * channels  // OW * C
    let mapHeight = height - 2 * ssimRadius              // OH
    // scratch: five column-moment rows (W * C each), five window-moment rows
    // (OW * C each), then the C per-channel sums of the map
    let vA = scratch, vB = vA + rowLength, vAA = vB + rowLength, vBB = vAA + rowLength, vAB = vBB + rowLength
    let hA = vAB + rowLength, hB = hA + mapLength, hAA = hB + mapLength, hBB = hAA + mapLength, hAB = hBB + mapLength
    let sums = scratch + 10 * rowLength
    sums.update(repeating: 0, count: channels)

    ssimWeights.withUnsafeBufferPointer { w in
        for y in 0 ..< mapHeight {
            vA.update(repeating: 0, count: 5 * rowLength)
            for i in 0 ..< k {
                let rowA = a + (y + i) * rowLength, rowB = b + (y + i) * rowLength
                let weight = w[i]
                for x in 0 ..< rowLength {
                    let p = Double(rowA[x]), q = Double(rowB[x])
                    vA[x] += weight * p
                    vB[x] += weight * q
                    vAA[x] += weight * (p * p)
                    vBB[x] += weight * (q * q)
                    vAB[x] += weight * (p * q)
                }
            }
            hA.update(repeating: 0, count: 5 * mapLength)
            for j in 0 ..< k {
                let shift = j * channels, weight = w[j]
                for x in 0 ..< mapLength {
                    hA[x] += weight * vA[x + shift]
                    hB[x] += weight * vB[x + shift]
                    hAA[x] += weight * vAA[x + shift]
                    hBB[x] += weight * vBB[x + shift]
                    hAB[x] += weight * vAB[x + shift]
                }
            }
            var x = 0
            while x < mapLength {
                for c in 0 ..< channels {
                    sums[c] += ssimIndex(hA[x + c], hB[x + c], hAA[x + c], hBB[x + c], hAB[x + c], c1, c2)
                }
                x += channels
            }
        }
    }
    let pixels = Double(mapHeight * (width - 2 * ssimRadius))
    var total = 0.0
    for c in 0 ..< channels { total += sums[c] / pixels }
    return total / Double(channels)
}

/// SSIM at one pixel from the window's weighted moments: means `muA`, `muB` and
/// raw second moments `eAA` = E[a^2], `eBB`, `eAB` = E[ab].
@inline(__always)
func ssimIndex(_ muA: Double, _ muB: Double, _ eAA: Double, _ eBB: Double, _ eAB: Double,
               _ c1: Double, _ c2: Double) -> Double {
    let varianceA = eAA - muA * muA, varianceB = eBB - muB * muB, covariance = eAB - muA * muB
    return (2 * muA * muB + c1) * (2 * covariance + c2)
        / ((muA * muA + muB * muB + c1) * (varianceA + varianceB + c2))
}

/// The scalar twin of ``ssimMean``: the reference equations above with the
/// 11 x 11 window applied directly at every map pixel, channel by channel;
/// `a`, `b` (H, W, C) row-major.
///
/// - Complexity: `O(H * W * C * K^2)`; for tests only.
package func referenceSSIMMean(
    a: [Float], b: [Float], height: Int, width: Int, channels: Int, dataRange: Double = 1
) -> Double {
    let k = 2 * ssimRadius + 1
    let c1 = (0.01 * dataRange) * (0.01 * dataRange), c2 = (0.03 * dataRange) * (0.03 * dataRange)
    var total = 0.0
    for c in 0 ..< channels {
        var sum = 0.0
        for y in 0 ... height - k {
            for x in 0 ... width - k {
                var muA = 0.0, muB = 0.0, eAA = 0.0, eBB = 0.0, eAB = 0.0
                for i in 0 ..< k {
                    for j in 0 ..< k {
                        let weight = ssimWeights[i] * ssimWeights[j]
                        let index = ((y + i) * width + x + j) * channels + c
                        let p = Double(a[index]), q = Double(b[index])
                        muA += weight * p
                        muB += weight * q
                        eAA += weight * p * p
                        eBB += weight * q * q
                        eAB += weight * p * q
                    }
                }
                sum += ssimIndex(muA, muB, eAA, eBB, eAB, c1, c2)
            }
        }
        total += sum / Double((height - k + 1) * (width - k + 1))
    }
    return total / Double(channels)
}

extension StructuralSimilarity {
    /// SSIM of `frames` validated frame pairs laid end to end in `first` and `second`.
    func scores(_ first: Tensor, _ second: Tensor, frames: Int) -> [Double] {
        let dimensions = Array(first.dimensions.suffix(3))
        let (height, width, channels) = (dimensions[0], dimensions[1], dimensions[2])
        let frameLength = height * width * channels
        let c1 = (0.01 * dataRange) * (0.01 * dataRange), c2 = (0.03 * dataRange) * (0.03 * dataRange)
        var scratch = [Double](repeating: 0, count: ssimScratchCount(width: width, channels: channels))
        return first.withUnsafeBufferPointer { a in
            second.withUnsafeBufferPointer { b in
                scratch.withUnsafeMutableBufferPointer { scratch in
                    (0 ..< frames).map { n in
                        ssimMean(a: a.baseAddress! + n * frameLength, b: b.baseAddress! + n * frameLength,
                                 height: height, width: width, channels: channels, c1: c1, c2: c2,
                                 scratch: scratch.baseAddress!)
                    }
                }
            }
        }
    }
}

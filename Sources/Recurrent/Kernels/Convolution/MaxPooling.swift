// Max pooling over channels-last images, forward and backward, with the scalar
// twin the tests hold them to.
//
// Legend: B batch; H x W x C the input; OH x OW the output grid; KH x KW the
// window; SH, SW strides; padTop, padLeft the leading padding (as in
// ConvolutionGeometry.swift; dilation is 1).
//
// Reference equations, for output pixel (b, oy, ox, c) and its window
// iy in oy*SH - padTop ..< + KH, ix in ox*SW - padLeft ..< + KW, clipped to the image:
//   output[b, oy, ox, c] = max over the window of input[b, iy, ix, c]
//   argmax[b, oy, ox, c] = iy * W + ix of the first maximum in row-major window order
//   dInput[b, iy, ix, c] += dOutput[b, oy, ox, c] where argmax[b, oy, ox, c] = iy * W + ix
// Padding is never a candidate (TensorFlow's pooling pads with -infinity), and
// every window holds at least one pixel of the image under both paddings.
// A NaN wins over every number, so it propagates to the output.

internal import CFrameKernels

/// Max pooling of `images`: writes `output` (B, OH, OW, C) and `argmax`
/// (B, OH, OW, C), the winning pixel's `iy * W + ix` within its image.
/// Overwrites both for the pixels of `images`.
///
/// - Complexity: `O(B * OH * OW * KH * KW * C)`, no allocation.
func maxPoolForward(
    _ g: ConvolutionGeometry, images: Range<Int>, input: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>
) {
    let c = g.channels
    for b in images {
        let image = input + b * g.imageLength
        for oy in 0 ..< g.outputHeight {
            let rows = window(oy * g.strideHeight - g.padTop, g.kernelHeight, g.height)
            for ox in 0 ..< g.outputWidth {
                let columns = window(ox * g.strideWidth - g.padLeft, g.kernelWidth, g.width)
                let pixel = ((b * g.outputHeight + oy) * g.outputWidth + ox) * c
                let first = rows.lowerBound * g.width + columns.lowerBound
                var j = 0
                // Eight channels at a time in registers, with selects: a conditional
                // store per channel compiles to branches that random data mispredicts.
                while j + 8 <= c {
                    var best = UnsafeRawPointer(image + first * c + j).loadUnaligned(as: SIMD8<Float>.self)
                    var winner = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: first))
                    for iy in rows {
                        for ix in columns {
                            let position = iy * g.width + ix
                            let v = UnsafeRawPointer(image + position * c + j).loadUnaligned(as: SIMD8<Float>.self)
                            let take = .!(v .<= best) .& (best .== best)   // v > best, or v NaN and best not
                            best.replace(with: v, where: take)
                            winner.replace(with: Int32(truncatingIfNeeded: position), where: take)
                        }
                    }
                    UnsafeMutableRawPointer(output + pixel + j).storeBytes(of: best, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(argmax + pixel + j).storeBytes(of: winner, as: SIMD8<Int32>.self)
                    j += 8
                }
                for j in j ..< c {
                    var (best, winner) = (image[first * c + j], first)
                    for iy in rows {
                        for ix in columns {
                            let v = image[(iy * g.width + ix) * c + j]
                            if !(v <= best) && best == best { (best, winner) = (v, iy * g.width + ix) }
                        }
                    }
                    output[pixel + j] = best
                    argmax[pixel + j] = Int32(truncatingIfNeeded: winner)
                }
            }
        }
    }
}

/// ``maxPoolForward(_:images:input:output:argmax:)`` without the argmax, for
/// inference: the same maxima (NaN wins) at half the work. `rowPitch`: pixels
/// from one input row to the next when they are not `g.width` (one image, read
/// from a wider buffer such as a direct convolution's output).
func maxPoolValues(
    _ g: ConvolutionGeometry, images: Range<Int>, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
    rowPitch: Int? = nil, path: GEMMKernelPath = .active
) {
    let c = g.channels
    let pitch = rowPitch ?? g.width
    precondition(rowPitch == nil || images.count <= 1, "maxPoolValues: a row pitch is for one image")
    if path != .swift {   // the same loops in 16- or 8-lane vectors (CFrameKernels/convlstm_body.h)
        for b in images {
            var pool = fsk_max_pool(
                input: input + b * g.imageLength, output: output + b * g.outputHeight * g.outputWidth * c,
                height: g.height, width: g.width, channels: c, row_pitch: pitch, out_height: g.outputHeight,
                out_width: g.outputWidth, kernel_height: g.kernelHeight, kernel_width: g.kernelWidth,
                stride_height: g.strideHeight, stride_width: g.strideWidth, pad_top: g.padTop, pad_left: g.padLeft)
            if path == .avx512 { fsk_max_pool_avx512(&pool) } else { fsk_max_pool_avx2(&pool) }
        }
        return
    }
    for b in images {
        let image = input + b * g.imageLength
        for oy in 0 ..< g.outputHeight {
            let rows = window(oy * g.strideHeight - g.padTop, g.kernelHeight, g.height)
            for ox in 0 ..< g.outputWidth {
                let columns = window(ox * g.strideWidth - g.padLeft, g.kernelWidth, g.width)
                let pixel = ((b * g.outputHeight + oy) * g.outputWidth + ox) * c
                let first = rows.lowerBound * pitch + columns.lowerBound
                var j = 0
                while j + 16 <= c {
                    var best = UnsafeRawPointer(image + first * c + j).loadUnaligned(as: SIMD16<Float>.self)
                    for iy in rows {
                        for ix in columns {
                            let v = UnsafeRawPointer(image + (iy * pitch + ix) * c + j).loadUnaligned(as: SIMD16<Float>.self)
                            best.replace(with: v, where: .!(v .<= best) .& (best .== best))
                        }
                    }
                    UnsafeMutableRawPointer(output + pixel + j).storeBytes(of: best, as: SIMD16<Float>.self)
                    j += 16
                }
                for j in j ..< c {
                    var best = image[first * c + j]
                    for iy in rows {
                        for ix in columns {
                            let v = image[(iy * pitch + ix) * c + j]
                            if !(v <= best) && best == best { best = v }
                        }
                    }
                    output[pixel + j] = best
                }
            }
        }
    }
}

/// Backward of ``maxPoolForward(_:images:input:output:argmax:)``: adds each
/// output gradient to the pixel that won its window, zero elsewhere.
/// Overwrites `dInput` (B, H, W, C) for the pixels of `images`.
///
/// - Complexity: `O(B * OH * OW * C)`, no allocation.
func maxPoolBackward(
    _ g: ConvolutionGeometry, images: Range<Int>, outputGradient: UnsafePointer<Float>,
    argmax: UnsafePointer<Int32>, dInput: UnsafeMutablePointer<Float>
) {
    let c = g.channels
    (dInput + images.lowerBound * g.imageLength).update(repeating: 0, count: images.count * g.imageLength)
    for b in images {
        let image = dInput + b * g.imageLength
        for pixel in b * g.rowsPerImage ..< (b + 1) * g.rowsPerImage {
            let (winners, gradient) = (argmax + pixel * c, outputGradient + pixel * c)
            for j in 0 ..< c { image[Int(winners[j]) * c + j] += gradient[j] }
        }
    }
}

/// The image positions of a window starting at `start` (possibly in the
/// leading padding) with `size` taps, clipped to `0 ..< length`.
@inline(__always)
private func window(_ start: Int, _ size: Int, _ length: Int) -> Range<Int> {
    max(start, 0) ..< min(start + size, length)
}

/// Max pooling by the definition: every window position checked against the
/// image bounds (a maximum involves no rounding, so Float is exact). The twin the tests hold
/// ``maxPoolForward(_:images:input:output:argmax:)`` to; returns the output
/// (B, OH, OW, C) in row-major order.
///
/// - Complexity: `O(B * OH * OW * KH * KW * C)`; for tests only.
package func referenceMaxPool(
    input: [Float], batch: Int, height: Int, width: Int, channels: Int,
    poolSize: (height: Int, width: Int), strides: (height: Int, width: Int), padding: ConvolutionPadding
) -> [Float] {
    let rows = convolutionAxis(input: height, kernel: poolSize.height, stride: strides.height, dilation: 1, padding: padding)
    let columns = convolutionAxis(input: width, kernel: poolSize.width, stride: strides.width, dilation: 1, padding: padding)
    var output: [Float] = []
    for b in 0 ..< batch { for oy in 0 ..< rows.length { for ox in 0 ..< columns.length { for c in 0 ..< channels {
        var best = -Float.infinity
        for ky in 0 ..< poolSize.height { for kx in 0 ..< poolSize.width {
            let iy = oy * strides.height - rows.padBefore + ky, ix = ox * strides.width - columns.padBefore + kx
            guard iy >= 0, iy < height, ix >= 0, ix < width else { continue }
            best = max(best, input[((b * height + iy) * width + ix) * channels + c])
        } }
        output.append(best)
    } } } }
    return output
}

/// The gradient of `L = sum(output * outputGradient)` for ``referenceMaxPool(input:batch:height:width:channels:poolSize:strides:padding:)``:
/// each output's gradient goes to the first maximum of its window in (row,
/// column) order, as the layer's argmax; windows that overlap add up.
///
/// - Parameter outputGradient: (B, OH, OW, C).
/// - Returns: dL/dinput (B, H, W, C).
package func referenceMaxPoolBackward(
    input: [Float], batch: Int, height: Int, width: Int, channels: Int,
    poolSize: (height: Int, width: Int), strides: (height: Int, width: Int), padding: ConvolutionPadding,
    outputGradient: [Float]
) -> [Float] {
    let rows = convolutionAxis(input: height, kernel: poolSize.height, stride: strides.height, dilation: 1, padding: padding)
    let columns = convolutionAxis(input: width, kernel: poolSize.width, stride: strides.width, dilation: 1, padding: padding)
    var dInput = [Float](repeating: 0, count: input.count)
    var next = 0
    for b in 0 ..< batch { for oy in 0 ..< rows.length { for ox in 0 ..< columns.length { for c in 0 ..< channels {
        var best = -Float.infinity, at = -1
        for ky in 0 ..< poolSize.height { for kx in 0 ..< poolSize.width {
            let iy = oy * strides.height - rows.padBefore + ky, ix = ox * strides.width - columns.padBefore + kx
            guard iy >= 0, iy < height, ix >= 0, ix < width else { continue }
            let index = ((b * height + iy) * width + ix) * channels + c
            if input[index] > best { (best, at) = (input[index], index) }
        } }
        if at >= 0 { dInput[at] += outputGradient[next] }
        next += 1
    } } } }
    return dInput
}

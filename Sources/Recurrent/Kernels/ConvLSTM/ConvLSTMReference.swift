// The scalar twin of the ConvLSTM2D forward pass: direct loops in Double over
// every (b, t, y, x, filter), no patches, no products, no threads. The tests
// hold the fast path (fused products, chunks, both cores) to it.
//
// Legend: B batch, T timesteps, H x W x C a frame, OH x OW the state grid,
// F filters, KH x KW taps; gate order i, f, g, o.

import Foundation  // exp and tanh in Double

/// A ConvLSTM2D forward pass by the definition (see ``ConvLSTM2D``), in Double.
///
/// - Parameters:
///   - input: (B, T, H, W, C) row-major.
///   - kernel, recurrentKernel, bias: Keras's layout.
///   - peepholes: w_ci, w_cf, w_co, each (OH, OW, F), or nil.
///   - initialHidden, initialCell: (B, OH, OW, F).
///   - lengths: valid timesteps per sequence, or nil.
/// - Returns: every h_t (B, T, OH, OW, F) in processing order (zero on padded
///   steps), and the final h and c (B, OH, OW, F).
package func convLSTMReferenceForward(
    input: [Float], batch: Int, timesteps: Int, height: Int, width: Int, channels: Int,
    kernel: [Float], recurrentKernel: [Float], bias: [Float], filters: Int, kernelSize: (height: Int, width: Int),
    strides: (height: Int, width: Int), dilation: (height: Int, width: Int), padding: ConvolutionPadding,
    reversed: Bool, peepholes: (input: [Float], forget: [Float], output: [Float])?,
    initialHidden: [Float], initialCell: [Float], lengths: [Int]?
) -> (output: [Float], finalHidden: [Float], finalCell: [Float]) {
    let (kh, kw, f) = (kernelSize.height, kernelSize.width, filters)
    let rows = convolutionAxis(input: height, kernel: kh, stride: strides.height, dilation: dilation.height, padding: padding)
    let columns = convolutionAxis(input: width, kernel: kw, stride: strides.width, dilation: dilation.width, padding: padding)
    let (oh, ow) = (rows.length, columns.length)
    // The recurrent convolution: stride 1, dilation 1, TensorFlow's same padding.
    let (recurrentTop, recurrentLeft) = ((kh - 1) / 2, (kw - 1) / 2)
    let state = oh * ow * f
    var hidden = initialHidden.map(Double.init), cell = initialCell.map(Double.init)
    var output = [Float](repeating: 0, count: batch * timesteps * state)
    func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
    for s in 0 ..< timesteps {
        let t = reversed ? timesteps - 1 - s : s
        var nextHidden = hidden, nextCell = cell
        for b in 0 ..< batch where t < (lengths?[b] ?? timesteps) {
            for y in 0 ..< oh {
                for x in 0 ..< ow {
                    var z = bias.map(Double.init)                                   // [4F]
                    for ky in 0 ..< kh {
                        for kx in 0 ..< kw {
                            let iy = y * strides.height - rows.padBefore + ky * dilation.height
                            let ix = x * strides.width - columns.padBefore + kx * dilation.width
                            if iy >= 0 && iy < height && ix >= 0 && ix < width {
                                for c in 0 ..< channels {
                                    let v = Double(input[(((b * timesteps + t) * height + iy) * width + ix) * channels + c])
                                    for n in 0 ..< 4 * f { z[n] += v * Double(kernel[((ky * kw + kx) * channels + c) * 4 * f + n]) }
                                }
                            }
                            let (hy, hx) = (y - recurrentTop + ky, x - recurrentLeft + kx)
                            if hy >= 0 && hy < oh && hx >= 0 && hx < ow {
                                for c in 0 ..< f {
                                    let v = hidden[b * state + (hy * ow + hx) * f + c]
                                    for n in 0 ..< 4 * f {
                                        z[n] += v * Double(recurrentKernel[((ky * kw + kx) * f + c) * 4 * f + n])
                                    }
                                }
                            }
                        }
                    }
                    for j in 0 ..< f {
                        let at = (y * ow + x) * f + j
                        let previous = cell[b * state + at]
                        var (zi, zf, zo) = (z[j], z[f + j], z[3 * f + j])
                        if let peepholes {
                            zi += Double(peepholes.input[at]) * previous
                            zf += Double(peepholes.forget[at]) * previous
                        }
                        let c = sigmoid(zf) * previous + sigmoid(zi) * tanh(z[2 * f + j])
                        if let peepholes { zo += Double(peepholes.output[at]) * c }
                        let h = sigmoid(zo) * tanh(c)
                        nextCell[b * state + at] = c
                        nextHidden[b * state + at] = h
                        output[(b * timesteps + s) * state + at] = Float(h)
                    }
                }
            }
        }
        (hidden, cell) = (nextHidden, nextCell)
    }
    return (output, hidden.map(Float.init), cell.map(Float.init))
}


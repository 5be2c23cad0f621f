// The scalar twins of the ConvLSTM2D forward and backward passes: direct loops in
// Double over every (b, t, y, x, filter), no patches, no products, no threads. The
// tests hold the fast paths (fused products, Winograd, chunks, both cores, every
// kernel path) to them.
//
// Legend: B batch, T timesteps, H x W x C a frame, OH x OW the state grid,
// F filters, KH x KW taps; gate order i, f, g, o.

import Foundation  // exp and tanh in Double

/// A ConvLSTM2D's configuration and weights, read as the reference loops need them.
package struct ConvLSTMReferenceLayer {
    package var batch: Int, timesteps: Int, height: Int, width: Int, channels: Int
    package var kernel: [Float], recurrentKernel: [Float], bias: [Float], filters: Int
    package var kernelSize: (height: Int, width: Int)
    package var strides: (height: Int, width: Int), dilation: (height: Int, width: Int), padding: ConvolutionPadding
    package var reversed: Bool
    /// w_ci, w_cf, w_co, each (OH, OW, F), or nil.
    package var peepholes: (input: [Float], forget: [Float], output: [Float])?
    /// Valid timesteps per sequence, or nil.
    package var lengths: [Int]?

    package init(batch: Int, timesteps: Int, height: Int, width: Int, channels: Int, kernel: [Float],
                 recurrentKernel: [Float], bias: [Float], filters: Int, kernelSize: (height: Int, width: Int),
                 strides: (height: Int, width: Int), dilation: (height: Int, width: Int), padding: ConvolutionPadding,
                 reversed: Bool, peepholes: (input: [Float], forget: [Float], output: [Float])?, lengths: [Int]?) {
        (self.batch, self.timesteps, self.height, self.width, self.channels) = (batch, timesteps, height, width, channels)
        (self.kernel, self.recurrentKernel, self.bias, self.filters) = (kernel, recurrentKernel, bias, filters)
        (self.kernelSize, self.strides, self.dilation, self.padding) = (kernelSize, strides, dilation, padding)
        (self.reversed, self.peepholes, self.lengths) = (reversed, peepholes, lengths)
    }

    var rows: (length: Int, padBefore: Int) {
        convolutionAxis(input: height, kernel: kernelSize.height, stride: strides.height, dilation: dilation.height, padding: padding)
    }
    var columns: (length: Int, padBefore: Int) {
        convolutionAxis(input: width, kernel: kernelSize.width, stride: strides.width, dilation: dilation.width, padding: padding)
    }
    /// Values of one sequence's state: OH * OW * F.
    var state: Int { rows.length * columns.length * filters }

    /// Calls `body(inputOffset, kernelOffset)` for every input value the input
    /// convolution reads at state pixel (`y`, `x`) of (`b`, `t`), and
    /// `recurrent(stateOffset, kernelOffset)` for every state value the recurrent
    /// convolution (stride 1, dilation 1, TensorFlow's same padding) reads there.
    /// Offsets are of the first of C (or F) channels and of their kernel rows.
    func taps(b: Int, t: Int, y: Int, x: Int, input: (Int, Int) -> Void, recurrent: (Int, Int) -> Void) {
        let (kh, kw, f) = (kernelSize.height, kernelSize.width, filters)
        let (rows, columns) = (self.rows, self.columns)
        let (top, left) = ((kh - 1) / 2, (kw - 1) / 2)
        for ky in 0 ..< kh {
            for kx in 0 ..< kw {
                let iy = y * strides.height - rows.padBefore + ky * dilation.height
                let ix = x * strides.width - columns.padBefore + kx * dilation.width
                if iy >= 0 && iy < height && ix >= 0 && ix < width {
                    input((((b * timesteps + t) * height + iy) * width + ix) * channels, (ky * kw + kx) * channels * 4 * f)
                }
                let (hy, hx) = (y - top + ky, x - left + kx)
                if hy >= 0 && hy < rows.length && hx >= 0 && hx < columns.length {
                    recurrent(b * state + (hy * columns.length + hx) * f, (ky * kw + kx) * f * 4 * f)
                }
            }
        }
    }

    /// z = bias + input convolution + recurrent convolution at one pixel: [4F].
    func preactivation(b: Int, t: Int, y: Int, x: Int, input: [Float], hidden: [Double]) -> [Double] {
        let (c, f) = (channels, filters)
        var z = bias.map(Double.init)
        taps(b: b, t: t, y: y, x: x, input: { at, k in
            for i in 0 ..< c {
                let v = Double(input[at + i])
                for n in 0 ..< 4 * f { z[n] += v * Double(kernel[k + i * 4 * f + n]) }
            }
        }, recurrent: { at, k in
            for i in 0 ..< f {
                let v = hidden[at + i]
                for n in 0 ..< 4 * f { z[n] += v * Double(recurrentKernel[k + i * 4 * f + n]) }
            }
        })
        return z
    }

    /// One cell from `z` [4F] and c_{t-1} at pixel `at` (of OH * OW * F), filter `j`:
    /// the gates after their activations, c_t and h_t.
    func cell(_ z: [Double], previous: Double, at: Int, j: Int) -> (i: Double, f: Double, g: Double, o: Double, c: Double, h: Double) {
        let f = filters
        var (zi, zf, zo) = (z[j], z[f + j], z[3 * f + j])
        if let peepholes {
            zi += Double(peepholes.input[at]) * previous
            zf += Double(peepholes.forget[at]) * previous
        }
        let (i, forget, g) = (referenceSigmoid(zi), referenceSigmoid(zf), tanh(z[2 * f + j]))
        let c = forget * previous + i * g
        if let peepholes { zo += Double(peepholes.output[at]) * c }
        let o = referenceSigmoid(zo)
        return (i, forget, g, o, c, o * tanh(c))
    }

    func isValid(b: Int, t: Int) -> Bool { t < (lengths?[b] ?? timesteps) }
}

private func referenceSigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }

/// A ConvLSTM2D forward pass by the definition (see ``ConvLSTM2D``), in Double.
///
/// - Parameters:
///   - layer: configuration and weights (Keras's layout).
///   - input: (B, T, H, W, C) row-major.
///   - initialHidden, initialCell: (B, OH, OW, F).
/// - Returns: every h_t (B, T, OH, OW, F) in processing order (zero on padded
///   steps), and the final h and c (B, OH, OW, F).
package func convLSTMReferenceForward(
    _ layer: ConvLSTMReferenceLayer, input: [Float], initialHidden: [Float], initialCell: [Float]
) -> (output: [Float], finalHidden: [Float], finalCell: [Float]) {
    let (oh, ow, f, state) = (layer.rows.length, layer.columns.length, layer.filters, layer.state)
    var hidden = initialHidden.map(Double.init), cell = initialCell.map(Double.init)
    var output = [Float](repeating: 0, count: layer.batch * layer.timesteps * state)
    for s in 0 ..< layer.timesteps {
        let t = layer.reversed ? layer.timesteps - 1 - s : s
        var nextHidden = hidden, nextCell = cell
        for b in 0 ..< layer.batch where layer.isValid(b: b, t: t) {
            for y in 0 ..< oh {
                for x in 0 ..< ow {
                    let z = layer.preactivation(b: b, t: t, y: y, x: x, input: input, hidden: hidden)
                    for j in 0 ..< f {
                        let at = (y * ow + x) * f + j
                        let step = layer.cell(z, previous: cell[b * state + at], at: at, j: j)
                        nextCell[b * state + at] = step.c
                        nextHidden[b * state + at] = step.h
                        output[(b * layer.timesteps + s) * state + at] = Float(step.h)
                    }
                }
            }
        }
        (hidden, cell) = (nextHidden, nextCell)
    }
    return (output, hidden.map(Float.init), cell.map(Float.init))
}

/// The gradients of `L = sum(output * outputGradient) + sum(h_n * finalHiddenGradient)
/// + sum(c_n * finalCellGradient)` by backpropagation through time in Double, the
/// forward pass recomputed step by step.
///
/// - Parameters:
///   - outputGradient: (B, T, OH, OW, F) in processing order.
///   - finalHiddenGradient, finalCellGradient: (B, OH, OW, F).
/// - Returns: dL/dinput (B, T, H, W, C); dL/dkernel, dL/drecurrentKernel and
///   dL/dbias in Keras's layout; dL/d peepholes (each (OH, OW, F)) when the layer
///   has them; dL/dh_0 and dL/dc_0 (B, OH, OW, F).
package func convLSTMReferenceBackward(
    _ layer: ConvLSTMReferenceLayer, input: [Float], initialHidden: [Float], initialCell: [Float],
    outputGradient: [Float], finalHiddenGradient: [Float], finalCellGradient: [Float]
) -> (input: [Float], kernel: [Float], recurrentKernel: [Float], bias: [Float],
      peepholes: (input: [Float], forget: [Float], output: [Float])?, initialHidden: [Float], initialCell: [Float]) {
    let (oh, ow, f, c, state, steps) = (layer.rows.length, layer.columns.length, layer.filters, layer.channels, layer.state,
                                        layer.timesteps)
    // Forward, keeping every step's incoming state.
    var hiddens = [initialHidden.map(Double.init)], cells = [initialCell.map(Double.init)]
    for s in 0 ..< steps {
        let t = layer.reversed ? steps - 1 - s : s
        var nextHidden = hiddens[s], nextCell = cells[s]
        for b in 0 ..< layer.batch where layer.isValid(b: b, t: t) {
            for y in 0 ..< oh {
                for x in 0 ..< ow {
                    let z = layer.preactivation(b: b, t: t, y: y, x: x, input: input, hidden: hiddens[s])
                    for j in 0 ..< f {
                        let at = (y * ow + x) * f + j
                        let step = layer.cell(z, previous: cells[s][b * state + at], at: at, j: j)
                        (nextCell[b * state + at], nextHidden[b * state + at]) = (step.c, step.h)
                    }
                }
            }
        }
        hiddens.append(nextHidden)
        cells.append(nextCell)
    }

    var dInput = [Double](repeating: 0, count: input.count)
    var dKernel = [Double](repeating: 0, count: layer.kernel.count)
    var dRecurrent = [Double](repeating: 0, count: layer.recurrentKernel.count)
    var dBias = [Double](repeating: 0, count: layer.bias.count)
    var dPeepholes = [[Double]](repeating: [Double](repeating: 0, count: state), count: 3)
    var dHidden = finalHiddenGradient.map(Double.init), dCell = finalCellGradient.map(Double.init)
    for s in stride(from: steps - 1, through: 0, by: -1) {
        let t = layer.reversed ? steps - 1 - s : s
        let (hidden, cell) = (hiddens[s], cells[s])
        // A padded step passes the state through: its gradients pass through too.
        var dPreviousHidden = dHidden, dPreviousCell = dCell
        for b in 0 ..< layer.batch where layer.isValid(b: b, t: t) {
            for index in b * state ..< (b + 1) * state { (dPreviousHidden[index], dPreviousCell[index]) = (0, 0) }
            for y in 0 ..< oh {
                for x in 0 ..< ow {
                    let z = layer.preactivation(b: b, t: t, y: y, x: x, input: input, hidden: hidden)
                    var dz = [Double](repeating: 0, count: 4 * f)
                    for j in 0 ..< f {
                        let at = (y * ow + x) * f + j
                        let previous = cell[b * state + at]
                        let g = layer.cell(z, previous: previous, at: at, j: j)
                        let dh = dHidden[b * state + at] + Double(outputGradient[(b * steps + s) * state + at])
                        let dzo = dh * tanh(g.c) * g.o * (1 - g.o)
                        var dc = dCell[b * state + at] + dh * g.o * (1 - tanh(g.c) * tanh(g.c))
                        if let peepholes = layer.peepholes {
                            dc += dzo * Double(peepholes.output[at])
                            dPeepholes[2][at] += dzo * g.c
                        }
                        let dzi = dc * g.g * g.i * (1 - g.i)
                        let dzf = dc * previous * g.f * (1 - g.f)
                        let dzg = dc * g.i * (1 - g.g * g.g)
                        var dPrevious = dc * g.f
                        if let peepholes = layer.peepholes {
                            dPrevious += dzi * Double(peepholes.input[at]) + dzf * Double(peepholes.forget[at])
                            dPeepholes[0][at] += dzi * previous
                            dPeepholes[1][at] += dzf * previous
                        }
                        dPreviousCell[b * state + at] += dPrevious
                        (dz[j], dz[f + j], dz[2 * f + j], dz[3 * f + j]) = (dzi, dzf, dzg, dzo)
                    }
                    for n in 0 ..< 4 * f { dBias[n] += dz[n] }
                    layer.taps(b: b, t: t, y: y, x: x, input: { at, k in
                        for i in 0 ..< c {
                            for n in 0 ..< 4 * f {
                                dKernel[k + i * 4 * f + n] += Double(input[at + i]) * dz[n]
                                dInput[at + i] += Double(layer.kernel[k + i * 4 * f + n]) * dz[n]
                            }
                        }
                    }, recurrent: { at, k in
                        for i in 0 ..< f {
                            for n in 0 ..< 4 * f {
                                dRecurrent[k + i * 4 * f + n] += hidden[at + i] * dz[n]
                                dPreviousHidden[at + i] += Double(layer.recurrentKernel[k + i * 4 * f + n]) * dz[n]
                            }
                        }
                    })
                }
            }
        }
        (dHidden, dCell) = (dPreviousHidden, dPreviousCell)
    }
    func floats(_ values: [Double]) -> [Float] { values.map(Float.init) }
    return (floats(dInput), floats(dKernel), floats(dRecurrent), floats(dBias),
            layer.peepholes == nil ? nil : (floats(dPeepholes[0]), floats(dPeepholes[1]), floats(dPeepholes[2])),
            floats(dHidden), floats(dCell))
}

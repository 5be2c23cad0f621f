// The scalar twins of one LSTM layer-direction's forward and backward passes:
// direct loops in Double over every (b, t, unit), no packing, no products, no
// threads, no fused kernels. The tests hold the fast paths (packed GEMM, fused
// steps, every kernel path, both layouts, stacks and both directions) to them.
//
// Legend: B batch, T timesteps, I input features, H hidden units; gate blocks
// i, f, g, o (PyTorch's order); sequences batch-major (B, T, ·).

import Foundation  // exp and tanh in Double

/// One LSTM layer-direction's weights, in PyTorch's layout, for the reference loops.
package struct LSTMReferenceDirection {
    package var inputSize: Int, hiddenSize: Int
    /// (4H, I), (4H, H), (4H), (4H).
    package var inputWeights: [Float], recurrentWeights: [Float], inputBias: [Float], recurrentBias: [Float]
    /// PyTorch's reverse direction: each sequence runs from its last valid step to
    /// its first, and its outputs stay at their own timesteps.
    package var reversed: Bool

    package init(_ weights: LSTMDirectionWeights, reversed: Bool) {
        (inputSize, hiddenSize) = (weights.inputWeights.dimensions[1], weights.recurrentWeights.dimensions[1])
        (inputWeights, recurrentWeights) = (weights.inputWeights.scalars, weights.recurrentWeights.scalars)
        (inputBias, recurrentBias) = (weights.inputBias.scalars, weights.recurrentBias.scalars)
        self.reversed = reversed
    }

    /// The timesteps of a sequence of `length` valid steps, in processing order.
    func order(_ length: Int) -> [Int] { reversed ? Array((0 ..< length).reversed()) : Array(0 ..< length) }

    /// z = W_ih x_t + b_ih + W_hh h + b_hh for one sequence: [4H]; with
    /// `masks` (this sequence's M_i, M_f, M_g, M_o, [4, H]), gate block g reads
    /// h * M_g (Keras's recurrent dropout).
    func preactivation(_ x: ArraySlice<Float>, _ h: [Double], masks: [Double]? = nil) -> [Double] {
        let (i, hidden) = (inputSize, hiddenSize)
        return (0 ..< 4 * hidden).map { n in
            var z = Double(inputBias[n]) + Double(recurrentBias[n])
            for k in 0 ..< i { z += Double(inputWeights[n * i + k]) * Double(x[x.startIndex + k]) }
            let gate = n / hidden
            for k in 0 ..< hidden {
                let mask: Double = masks?[gate * hidden + k] ?? 1
                z += Double(recurrentWeights[n * hidden + k]) * h[k] * mask
            }
            return z
        }
    }

    /// Sequence `b`'s four recurrent dropout masks ([4, H]) from `masks` ([4, B, H]), or nil.
    func sequenceMasks(_ masks: [Float]?, batch: Int, _ b: Int) -> [Double]? {
        guard let masks else { return nil }
        var sequence: [Double] = []
        for k in 0 ..< 4 {
            let start = (k * batch + b) * hiddenSize
            sequence += masks[start ..< start + hiddenSize].map(Double.init)
        }
        return sequence
    }
}

private func referenceSigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }

/// One layer-direction by the definition, in Double.
///
/// - Parameters:
///   - input: (B, T, I).
///   - initialHidden, initialCell: (B, H).
///   - lengths: valid timesteps per sequence (PyTorch's packed sequences), or nil.
///   - recurrentMasks: Keras's recurrent dropout masks M_i, M_f, M_g, M_o
///     (4, B, H), the same at every timestep, or nil for none.
/// - Returns: h_t for every timestep (B, T, H), zero past a sequence's length, and
///   the final h and c (B, H) at its last processed step.
package func lstmReferenceForward(
    _ direction: LSTMReferenceDirection, input: [Float], batch: Int, timesteps: Int,
    initialHidden: [Float], initialCell: [Float], lengths: [Int]?, recurrentMasks: [Float]? = nil
) -> (output: [Float], finalHidden: [Float], finalCell: [Float]) {
    let (i, h) = (direction.inputSize, direction.hiddenSize)
    var output = [Float](repeating: 0, count: batch * timesteps * h)
    var finalHidden = [Float](), finalCell = [Float]()
    for b in 0 ..< batch {
        var hidden = initialHidden[b * h ..< (b + 1) * h].map(Double.init)
        var cell = initialCell[b * h ..< (b + 1) * h].map(Double.init)
        let masks = direction.sequenceMasks(recurrentMasks, batch: batch, b)
        for t in direction.order(lengths?[b] ?? timesteps) {
            let z = direction.preactivation(input[(b * timesteps + t) * i ..< (b * timesteps + t + 1) * i], hidden,
                                            masks: masks)
            for u in 0 ..< h {
                let (gi, gf, gg, go) = (referenceSigmoid(z[u]), referenceSigmoid(z[h + u]), tanh(z[2 * h + u]),
                                        referenceSigmoid(z[3 * h + u]))
                cell[u] = gf * cell[u] + gi * gg
                hidden[u] = go * tanh(cell[u])
                output[(b * timesteps + t) * h + u] = Float(hidden[u])
            }
        }
        finalHidden += hidden.map(Float.init)
        finalCell += cell.map(Float.init)
    }
    return (output, finalHidden, finalCell)
}

/// The gradients of `L = sum(output * outputGradient) + sum(h_n * finalHiddenGradient)
/// + sum(c_n * finalCellGradient)` for one layer-direction, by backpropagation
/// through time in Double (the forward pass recomputed).
///
/// - Parameters:
///   - outputGradient: (B, T, H); entries past a sequence's length are unread.
///   - finalHiddenGradient, finalCellGradient: (B, H).
///   - recurrentMasks: as for ``lstmReferenceForward(_:input:batch:timesteps:initialHidden:initialCell:lengths:recurrentMasks:)``.
/// - Returns: dL/dinput (B, T, I), zero past a length; dL/d of the four weight
///   tensors in PyTorch's layout; dL/dh_0 and dL/dc_0 (B, H).
package func lstmReferenceBackward(
    _ direction: LSTMReferenceDirection, input: [Float], batch: Int, timesteps: Int,
    initialHidden: [Float], initialCell: [Float], lengths: [Int]?,
    outputGradient: [Float], finalHiddenGradient: [Float], finalCellGradient: [Float], recurrentMasks: [Float]? = nil
) -> (input: [Float], inputWeights: [Float], recurrentWeights: [Float], inputBias: [Float], recurrentBias: [Float],
      initialHidden: [Float], initialCell: [Float]) {
    let (i, h) = (direction.inputSize, direction.hiddenSize)
    var dInput = [Double](repeating: 0, count: batch * timesteps * i)
    var dWih = [Double](repeating: 0, count: 4 * h * i), dWhh = [Double](repeating: 0, count: 4 * h * h)
    var dBias = [Double](repeating: 0, count: 4 * h)
    var dInitialHidden = [Float](), dInitialCell = [Float]()
    for b in 0 ..< batch {
        let steps = direction.order(lengths?[b] ?? timesteps)
        let masks = direction.sequenceMasks(recurrentMasks, batch: batch, b)
        // Forward, keeping the state each step starts from.
        var hiddens = [initialHidden[b * h ..< (b + 1) * h].map(Double.init)]
        var cells = [initialCell[b * h ..< (b + 1) * h].map(Double.init)]
        for t in steps {
            let z = direction.preactivation(input[(b * timesteps + t) * i ..< (b * timesteps + t + 1) * i], hiddens.last!,
                                            masks: masks)
            var (hidden, cell) = (hiddens.last!, cells.last!)
            for u in 0 ..< h {
                cell[u] = referenceSigmoid(z[h + u]) * cell[u] + referenceSigmoid(z[u]) * tanh(z[2 * h + u])
                hidden[u] = referenceSigmoid(z[3 * h + u]) * tanh(cell[u])
            }
            hiddens.append(hidden)
            cells.append(cell)
        }
        var dHidden = finalHiddenGradient[b * h ..< (b + 1) * h].map(Double.init)
        var dCell = finalCellGradient[b * h ..< (b + 1) * h].map(Double.init)
        for (s, t) in steps.enumerated().reversed() {
            let x = input[(b * timesteps + t) * i ..< (b * timesteps + t + 1) * i]
            let (previousHidden, previousCell) = (hiddens[s], cells[s])
            let z = direction.preactivation(x, previousHidden, masks: masks)
            var dz = [Double](repeating: 0, count: 4 * h)
            for u in 0 ..< h {
                let (gi, gf, gg, go) = (referenceSigmoid(z[u]), referenceSigmoid(z[h + u]), tanh(z[2 * h + u]),
                                        referenceSigmoid(z[3 * h + u]))
                let c = cells[s + 1][u]
                let dh = dHidden[u] + Double(outputGradient[(b * timesteps + t) * h + u])
                let dc = dCell[u] + dh * go * (1 - tanh(c) * tanh(c))
                (dz[u], dz[h + u]) = (dc * gg * gi * (1 - gi), dc * previousCell[u] * gf * (1 - gf))
                (dz[2 * h + u], dz[3 * h + u]) = (dc * gi * (1 - gg * gg), dh * tanh(c) * go * (1 - go))
                dCell[u] = dc * gf
            }
            dHidden = [Double](repeating: 0, count: h)
            for n in 0 ..< 4 * h {
                dBias[n] += dz[n]
                for k in 0 ..< i {
                    dWih[n * i + k] += dz[n] * Double(x[x.startIndex + k])
                    dInput[(b * timesteps + t) * i + k] += dz[n] * Double(direction.inputWeights[n * i + k])
                }
                for k in 0 ..< h {
                    // Gate block n / h read h * M: the mask scales both gradients.
                    let mask: Double = masks?[(n / h) * h + k] ?? 1
                    dWhh[n * h + k] += dz[n] * previousHidden[k] * mask
                    dHidden[k] += dz[n] * Double(direction.recurrentWeights[n * h + k]) * mask
                }
            }
        }
        dInitialHidden += dHidden.map(Float.init)
        dInitialCell += dCell.map(Float.init)
    }
    func floats(_ values: [Double]) -> [Float] { values.map(Float.init) }
    // Both biases enter z as a sum: their gradients are the same.
    return (floats(dInput), floats(dWih), floats(dWhh), floats(dBias), floats(dBias), dInitialHidden, dInitialCell)
}

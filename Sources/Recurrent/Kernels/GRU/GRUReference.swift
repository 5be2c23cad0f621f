// The scalar twins of one GRU layer-direction's forward and backward passes:
// direct loops in Double over every (b, t, unit), no packing, no products, no
// threads, no fused kernels. The tests hold the fast paths (packed GEMM, fused
// steps, every kernel path, both layouts, both directions, both reset
// placements) to them.
//
// Legend: B batch, T timesteps, I input features, H hidden units; gate blocks
// r, z, n (PyTorch's order); sequences batch-major (B, T, ·).

import Foundation  // exp and tanh in Double

/// One GRU layer-direction's weights, in PyTorch's layout, for the reference loops.
package struct GRUReferenceDirection {
    package var inputSize: Int, hiddenSize: Int
    /// (3H, I), (3H, H), (3H), (3H).
    package var inputWeights: [Double], recurrentWeights: [Double], inputBias: [Double], recurrentBias: [Double]
    /// PyTorch's reverse direction: each sequence runs from its last valid step to its first.
    package var reversed: Bool
    /// n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) when true, else tanh(W_in x + b_in + W_hn (r * h) + b_hn).
    package var resetAfter: Bool

    package init(_ weights: GRUDirectionWeights, reversed: Bool, resetAfter: Bool) {
        (inputSize, hiddenSize) = (weights.inputWeights.dimensions[1], weights.recurrentWeights.dimensions[1])
        (inputWeights, recurrentWeights) = (weights.inputWeights.scalars.map(Double.init), weights.recurrentWeights.scalars.map(Double.init))
        // A GRU without biases holds empty ones: the equations read zeros.
        let zeros = [Double](repeating: 0, count: weights.inputWeights.dimensions[0])
        (inputBias, recurrentBias) = weights.inputBias.count == 0 ? (zeros, zeros)
            : (weights.inputBias.scalars.map(Double.init), weights.recurrentBias.scalars.map(Double.init))
        self.reversed = reversed
        self.resetAfter = resetAfter
    }

    /// The timesteps of a sequence of `length` valid steps, in processing order.
    func order(_ length: Int) -> [Int] { reversed ? Array((0 ..< length).reversed()) : Array(0 ..< length) }

    /// rows [from, from + count) of W times v (W row-major with v.count columns).
    func product(_ w: [Double], rows: Range<Int>, _ v: [Double]) -> [Double] {
        rows.map { n in (0 ..< v.count).reduce(0) { $0 + w[n * v.count + $1] * v[$1] } }
    }

    /// One step from h: the gates (r, z, n), the reset operand m (W_hn h + b_hn,
    /// or r * h) and h'.
    func step(_ x: [Double], _ h: [Double]) -> (r: [Double], z: [Double], n: [Double], m: [Double], next: [Double]) {
        let hidden = hiddenSize
        let gx = zip(product(inputWeights, rows: 0 ..< 3 * hidden, x), inputBias).map(+)
        let ghrz = zip(product(recurrentWeights, rows: 0 ..< 2 * hidden, h), recurrentBias).map(+)
        let r = (0 ..< hidden).map { sigmoid(gx[$0] + ghrz[$0]) }
        let z = (0 ..< hidden).map { sigmoid(gx[hidden + $0] + ghrz[hidden + $0]) }
        let m: [Double]
        let inner: [Double]
        if resetAfter {
            m = (0 ..< hidden).map { product(recurrentWeights, rows: 2 * hidden + $0 ..< 2 * hidden + $0 + 1, h)[0]
                                     + recurrentBias[2 * hidden + $0] }
            inner = (0 ..< hidden).map { r[$0] * m[$0] }
        } else {
            m = (0 ..< hidden).map { r[$0] * h[$0] }
            inner = (0 ..< hidden).map { product(recurrentWeights, rows: 2 * hidden + $0 ..< 2 * hidden + $0 + 1, m)[0]
                                         + recurrentBias[2 * hidden + $0] }
        }
        let n = (0 ..< hidden).map { tanh(gx[2 * hidden + $0] + inner[$0]) }
        return (r, z, n, m, (0 ..< hidden).map { (1 - z[$0]) * n[$0] + z[$0] * h[$0] })
    }
}

private func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }

/// One layer-direction by the definition, in Double.
///
/// - Parameters:
///   - input: (B, T, I); initialHidden: (B, H); lengths: valid timesteps per sequence, or nil.
/// - Returns: h_t for every timestep (B, T, H), zero past a sequence's length,
///   and the final h (B, H) at its last processed step.
package func gruReferenceForward(
    _ direction: GRUReferenceDirection, input: [Float], batch: Int, timesteps: Int, initialHidden: [Float], lengths: [Int]?
) -> (output: [Float], finalHidden: [Float]) {
    let (i, h) = (direction.inputSize, direction.hiddenSize)
    var output = [Float](repeating: 0, count: batch * timesteps * h)
    var finalHidden = [Float]()
    for b in 0 ..< batch {
        var hidden = initialHidden[b * h ..< (b + 1) * h].map(Double.init)
        for t in direction.order(lengths?[b] ?? timesteps) {
            let x = input[(b * timesteps + t) * i ..< (b * timesteps + t + 1) * i].map(Double.init)
            hidden = direction.step(x, hidden).next
            for u in 0 ..< h { output[(b * timesteps + t) * h + u] = Float(hidden[u]) }
        }
        finalHidden += hidden.map(Float.init)
    }
    return (output, finalHidden)
}

/// The gradients of `L = sum(output * outputGradient) + sum(h_n * finalHiddenGradient)`
/// for one layer-direction, by backpropagation through time in Double.
///
/// - Returns: dL/dinput (B, T, I), zero past a length; dL/d of the four weight
///   tensors in PyTorch's layout; dL/dh_0 (B, H).
package func gruReferenceBackward(
    _ direction: GRUReferenceDirection, input: [Float], batch: Int, timesteps: Int, initialHidden: [Float],
    lengths: [Int]?, outputGradient: [Float], finalHiddenGradient: [Float]
) -> (input: [Float], inputWeights: [Float], recurrentWeights: [Float], inputBias: [Float], recurrentBias: [Float],
      initialHidden: [Float]) {
    let (i, h) = (direction.inputSize, direction.hiddenSize)
    let (wi, wh) = (direction.inputWeights, direction.recurrentWeights)
    var dInput = [Double](repeating: 0, count: batch * timesteps * i)
    var dWih = [Double](repeating: 0, count: 3 * h * i), dWhh = [Double](repeating: 0, count: 3 * h * h)
    var dBih = [Double](repeating: 0, count: 3 * h), dBhh = [Double](repeating: 0, count: 3 * h)
    var dInitialHidden = [Float]()
    for b in 0 ..< batch {
        let steps = direction.order(lengths?[b] ?? timesteps)
        var hiddens = [initialHidden[b * h ..< (b + 1) * h].map(Double.init)]
        func x(_ t: Int) -> [Double] { input[(b * timesteps + t) * i ..< (b * timesteps + t + 1) * i].map(Double.init) }
        for t in steps { hiddens.append(direction.step(x(t), hiddens.last!).next) }
        var dh = finalHiddenGradient[b * h ..< (b + 1) * h].map(Double.init)
        for (s, t) in steps.enumerated().reversed() {
            let previous = hiddens[s]
            let (r, z, n, m, _) = direction.step(x(t), previous)
            for u in 0 ..< h { dh[u] += Double(outputGradient[(b * timesteps + t) * h + u]) }
            // Pre-activation gradients: input side (dr, dz, dn) and the hidden side's.
            var dA = [Double](repeating: 0, count: 3 * h), dHidden = [Double](repeating: 0, count: 3 * h)
            var dPrevious = (0 ..< h).map { dh[$0] * z[$0] }
            for u in 0 ..< h {
                dA[h + u] = dh[u] * (previous[u] - n[u]) * z[u] * (1 - z[u])
                dA[2 * h + u] = dh[u] * (1 - z[u]) * (1 - n[u] * n[u])
            }
            if direction.resetAfter {
                for u in 0 ..< h { dA[u] = dA[2 * h + u] * m[u] * r[u] * (1 - r[u]) }
                dHidden = dA
                for u in 0 ..< h { dHidden[2 * h + u] = dA[2 * h + u] * r[u] }
                for n in 0 ..< 3 * h { for k in 0 ..< h { dWhh[n * h + k] += dHidden[n] * previous[k] } }
            } else {
                // dm = dn W_hn; m = r * h.
                var dm = [Double](repeating: 0, count: h)
                for n in 0 ..< h { for k in 0 ..< h { dm[k] += dA[2 * h + n] * wh[(2 * h + n) * h + k] } }
                for u in 0 ..< h {
                    dA[u] = dm[u] * previous[u] * r[u] * (1 - r[u])
                    dPrevious[u] += dm[u] * r[u]
                }
                dHidden = dA
                for n in 0 ..< 2 * h { for k in 0 ..< h { dWhh[n * h + k] += dA[n] * previous[k] } }
                for n in 0 ..< h { for k in 0 ..< h { dWhh[(2 * h + n) * h + k] += dA[2 * h + n] * m[k] } }
            }
            let xt = x(t)
            for n in 0 ..< 3 * h {
                dBih[n] += dA[n]
                dBhh[n] += dHidden[n]
                for k in 0 ..< i {
                    dWih[n * i + k] += dA[n] * xt[k]
                    dInput[(b * timesteps + t) * i + k] += dA[n] * wi[n * i + k]
                }
            }
            // The recurrent product's gradient: the new gate's block only with resetAfter.
            for n in 0 ..< (direction.resetAfter ? 3 * h : 2 * h) {
                for k in 0 ..< h { dPrevious[k] += dHidden[n] * wh[n * h + k] }
            }
            dh = dPrevious
        }
        dInitialHidden += dh.map(Float.init)
    }
    func floats(_ values: [Double]) -> [Float] { values.map(Float.init) }
    return (floats(dInput), floats(dWih), floats(dWhh), floats(dBih), floats(dBhh), dInitialHidden)
}

// Forward and backward of one direction of one LSTM layer on the plain route
// (per-step GEMMs and an element-wise loop, padded batches included), for
// what the fused x86 kernels and the packed steps of LSTMSequence.swift, which
// multiply h_{t-1} by all of W_hh at once and assume h and c have the same
// width, cannot do:
// - projections (PyTorch's `proj_size`): the recurrent state h has P units,
//   produced from the H cell units by a fourth matrix, W_hr;
// - recurrent dropout (Keras's `recurrent_dropout`, training only): four
//   masks, one per gate, each [B, P] and fixed for the whole call, multiply
//   h_{t-1} before that gate's block of W_hh (Keras's `implementation=1`).
// Without projections W_hr is the identity (h_t = m_t, P = H); without masks
// every M_k is 1. The LSTM without either keeps the fused route.
//
// Legend as in LSTMSequence.swift (B, T, I, H, G = 4H; rows in the caller's
// layout); P the width of h (the projection size, or H); k a gate block
// (i, f, g, o); M_k the gate's recurrent dropout mask [B, P] of 0 and 1/(1-rate).
//
// Forward (PyTorch's equations, Keras's per-gate masks):
//   a_t = W_ih x_t + b_ih + b_hh;  a_t[k] += (h_{t-1} * M_k) W_hh[k]^T   [B, G]   (W_hh: [G, P])
//   i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
//   c_t = f * c_{t-1} + i * g;  m_t = o * tanh(c_t)        [B, H]
//   h_t = W_hr m_t                                         [B, P]   (W_hr: [P, H])
// Backward, with dh the gradient reaching h_t (output and next step):
//   dW_hr += dh^T m_t;  dm = dh W_hr
//   dc_total = dc + dm * o * (1 - tanh(c)^2)
//   dA = (dc_total g i (1-i), dc_total c_{t-1} f (1-f), dc_total i (1-g^2), dm tanh(c) o (1-o))
//   dc = dc_total * f;  dh_{t-1} = sum_k (dA[k] W_hh[k]) * M_k
// then dW_ih, dW_hh[k] += dA[k]^T (h_{t-1} * M_k), the biases and dX from dA
// of every row at once. Padded rows (t >= length) neither read their input nor
// change the state, output zero and get zero dA.

import Foundation  // tanh
import FrameSequencing

/// Where one direction's forward pass on the plain route saves what backward
/// needs, in one buffer of `count` floats: per row the activated gates, c_t,
/// c_{t-1}, m_t and h_{t-1} (unmasked; saved for backward). Zero on padded rows.
/// `projection` is P (H without projections, where m_t is h_t: kept all the same).
struct LSTMPlainRecordLayout {
    let rows: Int, hidden: Int, projection: Int
    var count: Int { rows * (7 * hidden + projection) }
    var gates: Int { 0 }                                  // [rows, G]
    var cells: Int { rows * 4 * hidden }                  // [rows, H]
    var previousCells: Int { rows * 5 * hidden }          // [rows, H]
    var cellOutputs: Int { rows * 6 * hidden }            // [rows, H]: m_t
    var previousHidden: Int { rows * 7 * hidden }         // [rows, P]
}

/// The forward pass of one direction on the plain route. Overwrites `output`
/// (row r at `output + r * outputStride`, P values, zero on padded rows),
/// `finalHidden` ([B, P]) and `finalCell` ([B, H]); with `record` (an
/// `LSTMPlainRecordLayout` buffer, zeroed by the caller) saves every valid
/// row's activations. `projection` is W_hr ([P, H]), or `nil` for none (P = H);
/// `w.recurrentWeights` is [G, P]. `recurrentMasks`, when given, holds M_i,
/// M_f, M_g, M_o ([4, B, P]). Allocates before the time loop only.
func lstmPlainForward(
    _ g: LSTMSequenceGeometry, projectionSize p: Int, input: UnsafePointer<Float>, inputStride: Int,
    weights w: LSTMWeightPointers, projection: UnsafePointer<Float>?, recurrentMasks: UnsafePointer<Float>?,
    initialHidden: UnsafePointer<Float>, initialCell: UnsafePointer<Float>, lengths: UnsafePointer<Int>?,
    output: UnsafeMutablePointer<Float>, outputStride: Int,
    finalHidden: UnsafeMutablePointer<Float>, finalCell: UnsafeMutablePointer<Float>,
    record: UnsafeMutablePointer<Float>?
) {
    let (batch, hidden, width) = (g.batch, g.hiddenSize, g.gateWidth)
    precondition(projection != nil || p == hidden, "lstmPlainForward: h has H units without projections")
    let layout = LSTMPlainRecordLayout(rows: g.rows, hidden: hidden, projection: p)
    let gates = record ?? UnsafeMutablePointer<Float>.allocate(capacity: g.rows * width)   // [rows, G]
    let h = UnsafeMutablePointer<Float>.allocate(capacity: batch * p)        // h_{t-1} [B, P]
    let c = UnsafeMutablePointer<Float>.allocate(capacity: batch * hidden)   // c_{t-1} [B, H]
    let m = UnsafeMutablePointer<Float>.allocate(capacity: batch * hidden)   // m_t [B, H]
    let next = UnsafeMutablePointer<Float>.allocate(capacity: batch * p)     // h_t [B, P]
    let masked = UnsafeMutablePointer<Float>.allocate(capacity: batch * p)   // h_{t-1} * M_k [B, P]
    let bias = UnsafeMutablePointer<Float>.allocate(capacity: width)
    defer {
        if record == nil { gates.deallocate() }
        for buffer in [h, c, m, next, masked, bias] { buffer.deallocate() }
    }
    for j in 0 ..< width { bias[j] = w.inputBias[j] + w.recurrentBias[j] }
    h.update(from: initialHidden, count: batch * p)
    c.update(from: initialCell, count: batch * hidden)
    m.update(repeating: 0, count: batch * hidden)
    // a = X W_ih^T for every row at once.
    gemm(transposeA: false, transposeB: true, m: g.rows, n: width, k: g.inputSize, a: input, lda: inputStride,
         b: w.inputWeights, ldb: g.inputSize, beta: 0, c: gates, ldc: width)
    let valid = { (b: Int, t: Int) in lengths.map { t < $0[b] } ?? true }
    for s in 0 ..< g.timesteps {
        let t = g.timestep(s)
        let stepGates = gates + g.row(0, t) * width
        if let recurrentMasks {
            // a_t[k] += (h_{t-1} * M_k) W_hh[k]^T: one product per gate, as the masks differ.
            for k in 0 ..< 4 {
                let mask = recurrentMasks + k * batch * p
                for e in 0 ..< batch * p { masked[e] = h[e] * mask[e] }
                gemm(transposeA: false, transposeB: true, m: batch, n: hidden, k: p, a: masked, lda: p,
                     b: w.recurrentWeights + k * hidden * p, ldb: p, beta: 1, c: stepGates + k * hidden,
                     ldc: g.batchStride * width)
            }
        } else {
            // a_t += h_{t-1} W_hh^T for every batch row of step t.
            gemm(transposeA: false, transposeB: true, m: batch, n: width, k: p, a: h, lda: p, b: w.recurrentWeights, ldb: p,
                 beta: 1, c: stepGates, ldc: g.batchStride * width)
        }
        for b in 0 ..< batch where valid(b, t) {
            let r = g.row(b, t)
            if let record {
                (record + layout.previousCells + r * hidden).update(from: c + b * hidden, count: hidden)
                (record + layout.previousHidden + r * p).update(from: h + b * p, count: p)
            }
            lstmCellForward(gates: gates + r * width, bias: bias, hidden: hidden, cell: c + b * hidden, output: m + b * hidden)
            if let record {
                (record + layout.cells + r * hidden).update(from: c + b * hidden, count: hidden)
                (record + layout.cellOutputs + r * hidden).update(from: m + b * hidden, count: hidden)
            }
        }
        // h_t = m_t W_hr^T (m_t itself without projections); padded rows keep h_{t-1} and output zero.
        if let projection {
            gemm(transposeA: false, transposeB: true, m: batch, n: p, k: hidden, a: m, lda: hidden, b: projection, ldb: hidden,
                 beta: 0, c: next, ldc: p)
        } else {
            next.update(from: m, count: batch * p)
        }
        for b in 0 ..< batch {
            let y = output + g.row(b, t) * outputStride
            guard valid(b, t) else {
                y.update(repeating: 0, count: p)
                continue
            }
            (h + b * p).update(from: next + b * p, count: p)
            y.update(from: next + b * p, count: p)
        }
    }
    finalHidden.update(from: h, count: batch * p)
    finalCell.update(from: c, count: batch * hidden)
}

/// Backward of one direction on the plain route through time, from its
/// forward `record` and the same `projection` and `recurrentMasks`: reads
/// `outputGradient` (dL/dh_t of every row, `outputGradientStride` apart;
/// unread on padded rows) and the gradients arriving at the final state ([B, P]
/// and [B, H]). Overwrites `inputGradient` ([rows, I]) unless `accumulateInput`,
/// then adds; accumulates into the parameter gradients (`projectionGradient`
/// [P, H] only with `projection`); overwrites `initialHiddenGradient` ([B, P])
/// and `initialCellGradient` ([B, H]).
func lstmPlainBackward(
    _ g: LSTMSequenceGeometry, projectionSize p: Int, input: UnsafePointer<Float>, inputStride: Int,
    weights w: LSTMWeightPointers, projection: UnsafePointer<Float>?, recurrentMasks: UnsafePointer<Float>?,
    lengths: UnsafePointer<Int>?,
    record: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, outputGradientStride: Int,
    finalHiddenGradient: UnsafePointer<Float>, finalCellGradient: UnsafePointer<Float>,
    inputGradient: UnsafeMutablePointer<Float>, inputGradientStride: Int, accumulateInput: Bool,
    inputWeightsGradient: UnsafeMutablePointer<Float>, recurrentWeightsGradient: UnsafeMutablePointer<Float>,
    inputBiasGradient: UnsafeMutablePointer<Float>, recurrentBiasGradient: UnsafeMutablePointer<Float>,
    projectionGradient: UnsafeMutablePointer<Float>?,
    initialHiddenGradient dh: UnsafeMutablePointer<Float>, initialCellGradient dc: UnsafeMutablePointer<Float>
) {
    let (batch, hidden, width) = (g.batch, g.hiddenSize, g.gateWidth)
    precondition(projection != nil || p == hidden, "lstmPlainBackward: h has H units without projections")
    let layout = LSTMPlainRecordLayout(rows: g.rows, hidden: hidden, projection: p)
    let dA = UnsafeMutablePointer<Float>.allocate(capacity: g.rows * width)   // [rows, G], zero on padded rows
    let total = UnsafeMutablePointer<Float>.allocate(capacity: batch * p)     // dh of step t [B, P]
    let dm = UnsafeMutablePointer<Float>.allocate(capacity: batch * hidden)   // [B, H]
    let carried = UnsafeMutablePointer<Float>.allocate(capacity: batch * p)   // dA_t W_hh (masked per gate) [B, P]
    let gateCarried = UnsafeMutablePointer<Float>.allocate(capacity: recurrentMasks == nil ? 0 : batch * p)   // dA_t[k] W_hh[k]
    defer { for buffer in [dA, total, dm, carried, gateCarried] { buffer.deallocate() } }
    dA.update(repeating: 0, count: g.rows * width)
    dh.update(from: finalHiddenGradient, count: batch * p)
    dc.update(from: finalCellGradient, count: batch * hidden)
    let valid = { (b: Int, t: Int) in lengths.map { t < $0[b] } ?? true }
    for s in stride(from: g.timesteps - 1, through: 0, by: -1) {
        let t = g.timestep(s)
        for b in 0 ..< batch {
            let row = total + b * p
            guard valid(b, t) else {
                row.update(repeating: 0, count: p)   // adds nothing to dW_hr
                continue
            }
            let dy = outputGradient + g.row(b, t) * outputGradientStride
            for j in 0 ..< p { row[j] = dh[b * p + j] + dy[j] }
        }
        if let projection, let projectionGradient {
            // dW_hr += dh^T m_t (rows of step t, `batchStride` rows apart); dm = dh W_hr.
            gemm(transposeA: true, transposeB: false, m: p, n: hidden, k: batch, a: total, lda: p,
                 b: record + layout.cellOutputs + g.row(0, t) * hidden, ldb: g.batchStride * hidden, beta: 1,
                 c: projectionGradient, ldc: hidden)
            gemm(transposeA: false, transposeB: false, m: batch, n: hidden, k: p, a: total, lda: p, b: projection, ldb: hidden,
                 beta: 0, c: dm, ldc: hidden)
        } else {
            dm.update(from: total, count: batch * hidden)
        }
        for b in 0 ..< batch where valid(b, t) {
            let r = g.row(b, t)
            let a = record + layout.gates + r * width
            let (cell, previousCell) = (record + layout.cells + r * hidden, record + layout.previousCells + r * hidden)
            let da = dA + r * width
            for j in 0 ..< hidden {
                let (i, f, gg, o) = (a[j], a[hidden + j], a[2 * hidden + j], a[3 * hidden + j])
                let tc = tanh(cell[j])
                let dmj = dm[b * hidden + j]
                let dcTotal = dc[b * hidden + j] + dmj * o * (1 - tc * tc)
                da[j] = dcTotal * gg * i * (1 - i)
                da[hidden + j] = dcTotal * previousCell[j] * f * (1 - f)
                da[2 * hidden + j] = dcTotal * i * (1 - gg * gg)
                da[3 * hidden + j] = dmj * tc * o * (1 - o)
                dc[b * hidden + j] = dcTotal * f
            }
        }
        // dh_{t-1} = dA_t W_hh (sum over gates of dA_t[k] W_hh[k] * M_k with masks) for
        // valid rows; padded rows pass dh through.
        let stepGradient = dA + g.row(0, t) * width
        if let recurrentMasks {
            carried.update(repeating: 0, count: batch * p)
            for k in 0 ..< 4 {
                gemm(transposeA: false, transposeB: false, m: batch, n: p, k: hidden, a: stepGradient + k * hidden,
                     lda: g.batchStride * width, b: w.recurrentWeights + k * hidden * p, ldb: p, beta: 0, c: gateCarried, ldc: p)
                let mask = recurrentMasks + k * batch * p
                for e in 0 ..< batch * p { carried[e] += gateCarried[e] * mask[e] }
            }
        } else {
            gemm(transposeA: false, transposeB: false, m: batch, n: p, k: width, a: stepGradient,
                 lda: g.batchStride * width, b: w.recurrentWeights, ldb: p, beta: 0, c: carried, ldc: p)
        }
        for b in 0 ..< batch where valid(b, t) { (dh + b * p).update(from: carried + b * p, count: p) }
    }
    // The products over all rows: padded rows have zero dA and add nothing.
    gemm(transposeA: true, transposeB: false, m: width, n: g.inputSize, k: g.rows, a: dA, lda: width, b: input,
         ldb: inputStride, beta: 1, c: inputWeightsGradient, ldc: g.inputSize)
    let previousHidden = record + layout.previousHidden   // [rows, P], unmasked
    if let recurrentMasks {
        // dW_hh[k] += dA[k]^T (h_{t-1} * M_k) over every row, M_k read at the row's batch entry.
        let masked = UnsafeMutablePointer<Float>.allocate(capacity: g.rows * p)   // [rows, P]
        defer { masked.deallocate() }
        for k in 0 ..< 4 {
            let mask = recurrentMasks + k * batch * p
            for t in 0 ..< g.timesteps {
                for b in 0 ..< batch {
                    let r = g.row(b, t)
                    for j in 0 ..< p { masked[r * p + j] = previousHidden[r * p + j] * mask[b * p + j] }
                }
            }
            gemm(transposeA: true, transposeB: false, m: hidden, n: p, k: g.rows, a: dA + k * hidden, lda: width,
                 b: masked, ldb: p, beta: 1, c: recurrentWeightsGradient + k * hidden * p, ldc: p)
        }
    } else {
        gemm(transposeA: true, transposeB: false, m: width, n: p, k: g.rows, a: dA, lda: width,
             b: previousHidden, ldb: p, beta: 1, c: recurrentWeightsGradient, ldc: p)
    }
    for r in 0 ..< g.rows {
        for j in 0 ..< width {
            inputBiasGradient[j] += dA[r * width + j]
            recurrentBiasGradient[j] += dA[r * width + j]
        }
    }
    gemm(transposeA: false, transposeB: false, m: g.rows, n: g.inputSize, k: width, a: dA, lda: width,
         b: w.inputWeights, ldb: g.inputSize, beta: accumulateInput ? 1 : 0, c: inputGradient, ldc: inputGradientStride)
}

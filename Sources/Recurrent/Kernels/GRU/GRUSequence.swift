// Forward and backward of one direction of one GRU layer over a batch of
// sequences: the time loops every GRU configuration (stacked, bidirectional,
// variable lengths, batch- or time-major, both reset placements) is built from.
//
// Legend: B batch, T timesteps, I input features, H hidden units, G = 3H gate
// pre-activations in the order reset, update, new (r, z, n), PyTorch's.
// "Rows" are the B*T (batch, timestep) pairs in the caller's layout, as for
// the LSTM (LSTMSequence.swift): row(b, t) is b*T + t batch-major, t*B + b
// time-major.
//
// Forward (x W_ih^T of every row first, one product; `bx` and `bhn` from
// `GRUStepBiases`):
//   a = x_t W_ih^T + bx                                  [B, G]
//   r = sigmoid(a_r + h W_hr^T);  z = sigmoid(a_z + h W_hz^T)
//   resetAfter:  m = h W_hn^T + bhn;       n = tanh(a_n + r * m)
//   !resetAfter: m = r * h;                n = tanh(a_n + m W_hn^T)
//   h' = (1 - z) * n + z * h
// The record keeps per row the activated gates (r, z, n), m and h_{t-1}.
// Backward, with dh the gradient reaching h_t (from h_{t+1} and the output):
//   dn = dh (1 - z) (1 - n^2);  dz = dh (h - n) z (1 - z)
//   resetAfter:  dr = dn m r (1 - r);  dA_hidden = (dr, dz, dn r)
//                dh_{t-1} = dh z + dA_hidden W_hh
//   !resetAfter: dm = dn W_hn;  dr = dm h r (1 - r)
//                dh_{t-1} = dh z + dm r + (dr, dz) W_h{r,z}
//   dA = (dr, dz, dn) is the input side's gradient: dW_ih = dA^T X,
//   dX = dA W_ih; dW_hh = dA_hidden^T H_prev (resetAfter) or, by blocks,
//   (dr, dz)^T H_prev and dn^T M (!resetAfter).
// Packed-sequence semantics as the LSTM's: a row at or past its length reads
// nothing, changes no state and outputs zero; its dA is zero.
//
// The Swift loops here are the reference twin of the fused C steps
// (GRUFusedSequence.swift) and the path of padded batches and of arm64.

import FrameSequencing
internal import FrameSequencingRuntime

/// Where one direction of one GRU layer reads and writes, and its sizes.
struct GRUSequenceGeometry {
    let batch: Int        // B
    let timesteps: Int    // T
    let inputSize: Int    // I
    let hiddenSize: Int   // H
    let timeMajor: Bool
    let reversed: Bool
    let resetAfter: Bool

    var rows: Int { batch * timesteps }
    var gateWidth: Int { 3 * hiddenSize }
    /// The row of (b, t).
    @inline(__always) func row(_ b: Int, _ t: Int) -> Int { timeMajor ? t * batch + b : b * timesteps + t }
    /// Rows between consecutive batch entries of one timestep.
    var batchStride: Int { timeMajor ? 1 : timesteps }
    /// The timestep processed at loop step `s`.
    @inline(__always) func timestep(_ s: Int) -> Int { reversed ? timesteps - 1 - s : s }
    /// Flops of the recurrent products of all steps (for the threading decision).
    var recurrentFlops: Int { 2 * rows * hiddenSize * gateWidth }
}

/// The weights of one direction of one layer, as unsafe pointers.
struct GRUWeightPointers {
    let inputWeights: UnsafePointer<Float>      // [G, I]
    let recurrentWeights: UnsafePointer<Float>  // [G, H]
    let inputBias: UnsafePointer<Float>         // [G]
    let recurrentBias: UnsafePointer<Float>     // [G]
}

/// What backward needs from one direction's forward pass, in one buffer of
/// `count` floats: the activated gates (r, z, n), m (W_hn h + b_hn, or r * h)
/// and h_{t-1} of every row. Padded rows hold zeros (the buffer is zeroed for
/// padded batches) and are never read for gradients.
struct GRURecordLayout {
    let rows: Int
    let hidden: Int
    var count: Int { rows * 5 * hidden }
    var gates: Int { 0 }                                  // [rows, G]
    var candidates: Int { rows * 3 * hidden }             // [rows, H]: m
    var previousHidden: Int { rows * 4 * hidden }         // [rows, H]
}

/// The biases as the steps add them: `input` [G] joins x W_ih^T (b_ih + b_hh
/// for r and z; b_in, plus b_hn without resetAfter, for n); `hiddenNew` [H]
/// (b_hn) joins the new gate's recurrent product inside the reset, with resetAfter.
struct GRUStepBiases {
    let input: UnsafeMutablePointer<Float>
    let hiddenNew: UnsafeMutablePointer<Float>

    init(_ g: GRUSequenceGeometry, weights w: GRUWeightPointers) {
        let h = g.hiddenSize
        input = alignedFloats(3 * h)
        hiddenNew = alignedFloats(h)
        for j in 0 ..< 2 * h { input[j] = w.inputBias[j] + w.recurrentBias[j] }
        for j in 0 ..< h {
            input[2 * h + j] = w.inputBias[2 * h + j] + (g.resetAfter ? 0 : w.recurrentBias[2 * h + j])
            hiddenNew[j] = g.resetAfter ? w.recurrentBias[2 * h + j] : 0
        }
    }

    func deallocate() {
        input.deallocate()
        hiddenNew.deallocate()
    }
}

/// Runs the forward pass of one direction.
///
/// Overwrites `output` (row r at `output + r * outputStride`, H values),
/// `finalHidden` ([B, H]) and `gates` ([rows, G] scratch; with `record`, a
/// `GRURecordLayout` buffer whose start `gates` must be, also m and h_{t-1} of
/// every valid row). Allocates only before the time loop. `path` picks the
/// micro-kernels; `packed`, when given, holds `w` packed for `path` and these
/// sizes (inference reuses it).
func gruSequenceForward(
    _ g: GRUSequenceGeometry, input: UnsafePointer<Float>, inputStride: Int, weights w: GRUWeightPointers,
    initialHidden: UnsafePointer<Float>, lengths: UnsafePointer<Int>?,
    output: UnsafeMutablePointer<Float>, outputStride: Int, finalHidden h: UnsafeMutablePointer<Float>,
    gates: UnsafeMutablePointer<Float>, record: UnsafeMutablePointer<Float>?,
    path: GEMMKernelPath = .active, packed cached: GRUPackedDirection? = nil
) {
    precondition(cached.map { $0.path == path && lengths == nil } ?? true,
                 "gruSequenceForward: weights packed for another path, or for unpadded batches only")
    let packed = cached ?? GRUPackedDirection(g, weights: w, path: path, forReuse: false, fused: lengths == nil)
    // a = X W_ih^T for every row at once (beta 0; the biases join in the step).
    packed.inputProduct(g, input: input, inputStride: inputStride, weights: w, gates: gates)
    if lengths == nil, packed.stepWeights != nil {
        return gruFusedForward(g, packed: packed, initialHidden: initialHidden, output: output, outputStride: outputStride,
                               finalHidden: h, gates: gates, record: record)
    }
    gruReferenceForwardLoop(g, packed: packed, lengths: lengths, initialHidden: initialHidden, output: output,
                            outputStride: outputStride, finalHidden: h, gates: gates, record: record)
}

/// The reference forward time loop (the Swift path, and padded batches on
/// every path), after x W_ih^T of every row is in `gates`: per step the
/// recurrent products from `packed`'s W_hh^T and the Swift cell update.
private func gruReferenceForwardLoop(
    _ g: GRUSequenceGeometry, packed: GRUPackedDirection, lengths: UnsafePointer<Int>?,
    initialHidden: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, outputStride: Int,
    finalHidden h: UnsafeMutablePointer<Float>, gates: UnsafeMutablePointer<Float>, record: UnsafeMutablePointer<Float>?
) {
    let (hidden, width, batch) = (g.hiddenSize, g.gateWidth, g.batch)
    let layout = GRURecordLayout(rows: g.rows, hidden: hidden)
    let recurrent = packed.recurrentProducts(g)
    h.update(from: initialHidden, count: batch * hidden)
    let scratch = alignedFloats(batch * (width + hidden))   // h W_hh^T [B, G], then m [B, H]
    defer { scratch.deallocate() }
    forEachBatchChunk(batch: batch, flops: g.recurrentFlops) { rows in
        let b0 = rows.lowerBound
        let products = scratch + b0 * width
        let resets = scratch + batch * width
        for s in 0 ..< g.timesteps {
            let t = g.timestep(s)
            func valid(_ b: Int) -> Bool { lengths.map { t < $0[b] } ?? true }
            func gateRow(_ b: Int) -> UnsafeMutablePointer<Float> { gates + g.row(b, t) * width }
            if let record {
                for b in rows where valid(b) {
                    (record + layout.previousHidden + g.row(b, t) * hidden).update(from: h + b * hidden, count: hidden)
                }
            }
            if g.resetAfter {
                // h W_hh^T for these rows, all three blocks.
                recurrent.all!.multiplyInPlace(m: rows.count, a: h + b0 * hidden, lda: hidden, beta: 0,
                                               c: products, ldc: width)
                for b in rows where valid(b) {
                    let candidate = record.map { $0 + layout.candidates + g.row(b, t) * hidden } ?? resets + b * hidden
                    gruCellResetAfter(gates: gateRow(b), products: scratch + b * width, biases: packed.biases,
                                      hidden: hidden, candidate: candidate, state: h + b * hidden)
                }
            } else {
                // r and z first: the new gate's product reads r * h.
                recurrent.resetUpdate!.multiplyInPlace(m: rows.count, a: h + b0 * hidden, lda: hidden, beta: 0,
                                                       c: products, ldc: width)
                for b in rows {
                    guard valid(b) else {
                        (resets + b * hidden).update(repeating: 0, count: hidden)   // read by the product, unused
                        continue
                    }
                    gruGatesResetBefore(gates: gateRow(b), products: scratch + b * width, biases: packed.biases,
                                        hidden: hidden, state: h + b * hidden, reset: resets + b * hidden)
                    if let record {
                        (record + layout.candidates + g.row(b, t) * hidden).update(from: resets + b * hidden, count: hidden)
                    }
                }
                recurrent.new!.multiplyInPlace(m: rows.count, a: resets + b0 * hidden, lda: hidden, beta: 0,
                                               c: products + 2 * hidden, ldc: width)
                for b in rows where valid(b) {
                    gruNewResetBefore(gates: gateRow(b), products: scratch + b * width, biases: packed.biases,
                                      hidden: hidden, state: h + b * hidden)
                }
            }
            for b in rows {
                let y = output + g.row(b, t) * outputStride
                if valid(b) { y.update(from: h + b * hidden, count: hidden) } else { y.update(repeating: 0, count: hidden) }
            }
        }
    }
}

/// The step of one row with resetAfter: `gates` ([G], x W_ih^T in) becomes
/// (r, z, n); `products` is h W_hh^T ([G]); `candidate` gets m = h W_hn^T + b_hn;
/// `state` is h in, h' out.
@inline(__always)
func gruCellResetAfter(gates a: UnsafeMutablePointer<Float>, products p: UnsafePointer<Float>, biases: GRUStepBiases,
                       hidden: Int, candidate m: UnsafeMutablePointer<Float>, state h: UnsafeMutablePointer<Float>) {
    for j in 0 ..< 2 * hidden { a[j] += biases.input[j] + p[j] }
    applySigmoid(a, count: 2 * hidden)
    for j in 0 ..< hidden {
        m[j] = p[2 * hidden + j] + biases.hiddenNew[j]
        a[2 * hidden + j] += biases.input[2 * hidden + j] + a[j] * m[j]
    }
    applyTanh(a + 2 * hidden, count: hidden)
    for j in 0 ..< hidden {
        let (z, n) = (a[hidden + j], a[2 * hidden + j])
        h[j] = (1 - z) * n + z * h[j]
    }
}

/// The first half of a step without resetAfter: r and z of `gates` activated
/// (with h W_h{r,z}^T in `products`), `reset` = r * h.
@inline(__always)
func gruGatesResetBefore(gates a: UnsafeMutablePointer<Float>, products p: UnsafePointer<Float>, biases: GRUStepBiases,
                         hidden: Int, state h: UnsafePointer<Float>, reset m: UnsafeMutablePointer<Float>) {
    for j in 0 ..< 2 * hidden { a[j] += biases.input[j] + p[j] }
    applySigmoid(a, count: 2 * hidden)
    for j in 0 ..< hidden { m[j] = a[j] * h[j] }
}

/// The second half: n from (r * h) W_hn^T (in `products` at 2H), then h'.
@inline(__always)
func gruNewResetBefore(gates a: UnsafeMutablePointer<Float>, products p: UnsafePointer<Float>, biases: GRUStepBiases,
                       hidden: Int, state h: UnsafeMutablePointer<Float>) {
    for j in 0 ..< hidden { a[2 * hidden + j] += biases.input[2 * hidden + j] + p[2 * hidden + j] }
    applyTanh(a + 2 * hidden, count: hidden)
    for j in 0 ..< hidden {
        let (z, n) = (a[hidden + j], a[2 * hidden + j])
        h[j] = (1 - z) * n + z * h[j]
    }
}

/// Floats of workspace `gruSequenceBackward` needs: dA and dA_hidden [rows, G],
/// then [3, B, H] of carries and products.
func gruBackwardWorkspaceCount(_ g: GRUSequenceGeometry) -> Int {
    2 * g.rows * g.gateWidth + 3 * g.batch * g.hiddenSize
}

/// Backward of one direction through time.
///
/// Reads `record` (a `GRURecordLayout` buffer from the training forward),
/// `outputGradient` (dL/dh_t of every row, `outputGradientStride` apart;
/// ignored on padded rows) and `finalHiddenGradient` ([B, H]). Writes
/// `inputGradient` ([rows, I], `inputGradientStride` apart): overwrites when
/// `accumulateInput` is false, else adds. Accumulates into the four parameter
/// gradients. Overwrites `initialHiddenGradient` ([B, H]). `workspace` is
/// `gruBackwardWorkspaceCount` floats.
func gruSequenceBackward(
    _ g: GRUSequenceGeometry, input: UnsafePointer<Float>, inputStride: Int, weights w: GRUWeightPointers,
    lengths: UnsafePointer<Int>?, record: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, outputGradientStride: Int, finalHiddenGradient: UnsafePointer<Float>,
    inputGradient: UnsafeMutablePointer<Float>, inputGradientStride: Int, accumulateInput: Bool,
    inputWeightsGradient: UnsafeMutablePointer<Float>, recurrentWeightsGradient: UnsafeMutablePointer<Float>,
    inputBiasGradient: UnsafeMutablePointer<Float>, recurrentBiasGradient: UnsafeMutablePointer<Float>,
    initialHiddenGradient dh: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>,
    path: GEMMKernelPath = .active
) {
    let (hidden, width) = (g.hiddenSize, g.gateWidth)
    let dA = workspace                                     // [rows, G]: (dr, dz, dn)
    let dAHidden = dA + g.rows * width                     // [rows, G]: (dr, dz, dn r), resetAfter
    if lengths == nil && path.lstmLanes != nil {
        gruFusedBackward(g, path: path, weights: w, record: record, outputGradient: outputGradient,
                         outputGradientStride: outputGradientStride, finalHiddenGradient: finalHiddenGradient,
                         initialHiddenGradient: dh, workspace: workspace)
    } else {
        gruReferenceBackwardLoop(g, weights: w, lengths: lengths, record: record, outputGradient: outputGradient,
                                 outputGradientStride: outputGradientStride, finalHiddenGradient: finalHiddenGradient,
                                 initialHiddenGradient: dh, workspace: workspace, path: path)
    }
    let layout = GRURecordLayout(rows: g.rows, hidden: hidden)
    let previousHidden = record + layout.previousHidden
    gemm(transposeA: true, transposeB: false, m: width, n: g.inputSize, k: g.rows,
         a: dA, lda: width, b: input, ldb: inputStride, beta: 1, c: inputWeightsGradient, ldc: g.inputSize, path: path)
    if g.resetAfter {
        gemm(transposeA: true, transposeB: false, m: width, n: hidden, k: g.rows, a: dAHidden, lda: width,
             b: previousHidden, ldb: hidden, beta: 1, c: recurrentWeightsGradient, ldc: hidden, path: path)
    } else {
        gemm(transposeA: true, transposeB: false, m: 2 * hidden, n: hidden, k: g.rows, a: dA, lda: width,
             b: previousHidden, ldb: hidden, beta: 1, c: recurrentWeightsGradient, ldc: hidden, path: path)
        gemm(transposeA: true, transposeB: false, m: hidden, n: hidden, k: g.rows, a: dA + 2 * hidden, lda: width,
             b: record + layout.candidates, ldb: hidden, beta: 1, c: recurrentWeightsGradient + 2 * hidden * hidden,
             ldc: hidden, path: path)
    }
    let hiddenSide = g.resetAfter ? UnsafePointer(dAHidden) : UnsafePointer(dA)
    for r in 0 ..< g.rows {
        let (da, dah) = (dA + r * width, hiddenSide + r * width)
        for j in 0 ..< width {
            inputBiasGradient[j] += da[j]
            recurrentBiasGradient[j] += dah[j]
        }
    }
    lstmProduct(m: g.rows, n: g.inputSize, k: width, a: dA, lda: width, b: w.inputWeights, transposeB: false,
                beta: accumulateInput ? 1 : 0, c: inputGradient, ldc: inputGradientStride, path: path)
}

/// The reference backward time loop (the Swift path, and padded batches on
/// every path): fills dA (and dA_hidden) of every row, writes dL/dh0.
private func gruReferenceBackwardLoop(
    _ g: GRUSequenceGeometry, weights w: GRUWeightPointers, lengths: UnsafePointer<Int>?, record: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, outputGradientStride: Int, finalHiddenGradient: UnsafePointer<Float>,
    initialHiddenGradient dh: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>, path: GEMMKernelPath
) {
    let (hidden, width, batch) = (g.hiddenSize, g.gateWidth, g.batch)
    let layout = GRURecordLayout(rows: g.rows, hidden: hidden)
    let dA = workspace
    let dAHidden = dA + g.rows * width
    let carry = dAHidden + g.rows * width                 // [B, H]: dh z (+ dm r)
    let product = carry + batch * hidden                  // [B, H]
    let resetGradient = product + batch * hidden          // [B, H]: dm, !resetAfter
    dh.update(from: finalHiddenGradient, count: batch * hidden)
    // dh_{t-1} = dA_hidden W_hh: W_hh ([G, H]) as B, not transposed; by blocks without resetAfter.
    let all = g.resetAfter ? PackedMatrixB(b: w.recurrentWeights, ldb: hidden, transposed: false, k: width, n: hidden,
                                           maximumRows: 1, path: path) : nil
    let resetUpdate = g.resetAfter ? nil : PackedMatrixB(b: w.recurrentWeights, ldb: hidden, transposed: false,
                                                         k: 2 * hidden, n: hidden, maximumRows: 1, path: path)
    let new = g.resetAfter ? nil : PackedMatrixB(b: w.recurrentWeights + 2 * hidden * hidden, ldb: hidden,
                                                 transposed: false, k: hidden, n: hidden, maximumRows: 1, path: path)
    forEachBatchChunk(batch: batch, flops: g.recurrentFlops) { rows in
        let b0 = rows.lowerBound
        for s in (0 ..< g.timesteps).reversed() {
            let t = g.timestep(s)
            func valid(_ b: Int) -> Bool { lengths.map { t < $0[b] } ?? true }
            for b in rows {
                let r = g.row(b, t)
                let (da, dah) = (dA + r * width, dAHidden + r * width)
                guard valid(b) else {
                    da.update(repeating: 0, count: width)   // padding: gradients pass through unchanged
                    dah.update(repeating: 0, count: width)
                    (resetGradient + b * hidden).update(repeating: 0, count: hidden)
                    continue
                }
                let a = record + layout.gates + r * width
                let m = record + layout.candidates + r * hidden
                let hp = record + layout.previousHidden + r * hidden
                let dy = outputGradient + r * outputGradientStride
                for j in 0 ..< hidden {
                    let (reset, update, new) = (a[j], a[hidden + j], a[2 * hidden + j])
                    let dhTotal = dh[b * hidden + j] + dy[j]
                    let dn = dhTotal * (1 - update) * (1 - new * new)
                    da[hidden + j] = dhTotal * (hp[j] - new) * update * (1 - update)
                    da[2 * hidden + j] = dn
                    carry[b * hidden + j] = dhTotal * update
                    if g.resetAfter {
                        da[j] = dn * m[j] * reset * (1 - reset)
                        (dah[j], dah[hidden + j], dah[2 * hidden + j]) = (da[j], da[hidden + j], dn * reset)
                    }
                }
            }
            let rowStride = width * g.batchStride
            let first = dA + g.row(b0, t) * width
            if g.resetAfter {
                all!.multiplyInPlace(m: rows.count, a: dAHidden + g.row(b0, t) * width, lda: rowStride, beta: 0,
                                     c: product + b0 * hidden, ldc: hidden)
            } else {
                // dm = dn W_hn, then dr, then (dr, dz) W_h{r,z}.
                new!.multiplyInPlace(m: rows.count, a: first + 2 * hidden, lda: rowStride, beta: 0,
                                     c: resetGradient + b0 * hidden, ldc: hidden)
                for b in rows where valid(b) {
                    let r = g.row(b, t)
                    let (da, a) = (dA + r * width, record + layout.gates + r * width)
                    let hp = record + layout.previousHidden + r * hidden
                    for j in 0 ..< hidden {
                        let dm = resetGradient[b * hidden + j]
                        da[j] = dm * hp[j] * a[j] * (1 - a[j])
                        carry[b * hidden + j] += dm * a[j]
                    }
                }
                resetUpdate!.multiplyInPlace(m: rows.count, a: first, lda: rowStride, beta: 0,
                                             c: product + b0 * hidden, ldc: hidden)
            }
            for b in rows where valid(b) {
                for j in 0 ..< hidden { dh[b * hidden + j] = product[b * hidden + j] + carry[b * hidden + j] }
            }
        }
    }
}

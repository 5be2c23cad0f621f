// Forward and backward of one direction of one LSTM layer over a batch of
// sequences: the time loops every LSTM configuration (stacked, bidirectional,
// variable lengths, batch- or time-major) is assembled from.
//
// Legend: B batch, T timesteps, I input features, H hidden units, G = 4H gate
// pre-activations in the order input, forget, cell, output (i, f, g, o).
// "Rows" are the B*T (batch, timestep) pairs in the caller's layout: row(b, t) is
// b*T + t batch-major or t*B + b time-major; every [rows, X] matrix uses it.
//
// Forward (PyTorch's equations, gate order i, f, g, o):
//   a_t = W_ih x_t + W_hh h_{t-1} + b_ih + b_hh          [B, G]
//   i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
//   c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)
// Packed-sequence semantics: a row whose timestep is at or past its length
// neither reads its input nor changes its state, and outputs zero. Processing
// runs t = 0..<T forward or T-1...0 reversed, so the reverse direction of a
// short sequence starts from h0 at its last valid step, as PyTorch's does.
//
// The time loops here are the Swift reference (and the arm64 path); on x86
// unpadded batches run the fused C steps of LSTMFusedSequence.swift instead.
// The input and parameter products over all rows are shared by both. The Swift
// loops take a range of steps and the record's rows (LSTMRows.swift), so that
// a backward recomputing the record runs them segment by segment
// (LSTMRecomputation.swift).

import FrameSequencing
internal import FrameSequencingRuntime

/// Where one direction of one layer reads and writes, and its sizes.
struct LSTMSequenceGeometry {
    let batch: Int        // B
    let timesteps: Int    // T
    let inputSize: Int    // I
    let hiddenSize: Int   // H
    let timeMajor: Bool
    let reversed: Bool

    var rows: Int { batch * timesteps }
    var gateWidth: Int { 4 * hiddenSize }
    /// The row of (b, t).
    @inline(__always) func row(_ b: Int, _ t: Int) -> Int { timeMajor ? t * batch + b : b * timesteps + t }
    /// Rows between consecutive batch entries of one timestep.
    var batchStride: Int { timeMajor ? 1 : timesteps }
    /// The timestep processed at loop step `s`.
    @inline(__always) func timestep(_ s: Int) -> Int { reversed ? timesteps - 1 - s : s }
}

/// The weights of one direction of one layer, as unsafe pointers.
struct LSTMWeightPointers {
    let inputWeights: UnsafePointer<Float>      // [G, I]
    let recurrentWeights: UnsafePointer<Float>  // [G, H]
    let inputBias: UnsafePointer<Float>         // [G]
    let recurrentBias: UnsafePointer<Float>     // [G]
}

/// What backward needs from one direction's forward pass, in one buffer of
/// `count` floats: gate activations, then c_t, c_{t-1} and h_{t-1} for every row
/// (saved for backward). Padded rows hold stale values and are never read.
struct LSTMRecordLayout {
    let rows: Int
    let hidden: Int
    var count: Int { rows * (4 * hidden + 3 * hidden) }
    var gates: Int { 0 }                                  // [rows, G]
    var cells: Int { rows * 4 * hidden }                  // [rows, H]
    var previousCells: Int { rows * 5 * hidden }          // [rows, H]
    var previousHidden: Int { rows * 6 * hidden }         // [rows, H]
}

/// Runs the forward pass of one direction.
///
/// Overwrites `output` (row r at `output + r * outputStride`, H values),
/// `finalHidden` and `finalCell` ([B, H]) and `gates` ([rows, G] scratch, not
/// touched in inference when the fused steps do the input product). With `record`
/// (an `LSTMRecordLayout` buffer; pass its start as `gates` too), also saves c_t,
/// c_{t-1} and h_{t-1} of every valid row for backward; with `checkpoints`
/// (and no record), the state at the start of every segment instead
/// (LSTMRecomputation.swift). Allocates only before the time loop. `path` picks
/// the micro-kernels (tests compare the paths).
/// `packed`: `w` packed for `path` and these sizes (`LSTMPackedDirection`),
/// used for unpadded batches (`lengths` nil) instead of packing `w` here; it
/// must hold the values `w` points to.
func lstmSequenceForward(
    _ g: LSTMSequenceGeometry, input: UnsafePointer<Float>, inputStride: Int, weights w: LSTMWeightPointers,
    initialHidden: UnsafePointer<Float>, initialCell: UnsafePointer<Float>, lengths: UnsafePointer<Int>?,
    output: UnsafeMutablePointer<Float>, outputStride: Int,
    finalHidden h: UnsafeMutablePointer<Float>, finalCell c: UnsafeMutablePointer<Float>,
    gates: UnsafeMutablePointer<Float>, record: UnsafeMutablePointer<Float>?,
    checkpoints: LSTMCheckpointRows? = nil, path: GEMMKernelPath = .active,
    packed cached: LSTMPackedDirection? = nil
) {
    let (hidden, width) = (g.hiddenSize, g.gateWidth)
    if lengths == nil {
        precondition(cached.map { $0.path == path } ?? true, "lstmSequenceForward: weights packed for another path")
        let packed = cached ?? LSTMPackedDirection(g, weights: w, path: path, forReuse: false)
        // a = X W_ih^T for every row at once: one large product (beta 0: the gates are
        // not read first; the biases join in the cell update, where the row is in L1).
        packed.inputProduct(g, input: input, inputStride: inputStride, weights: w, gates: gates)
        // On x86 the fused kernels (LSTMFusedSequence.swift), which for small
        // input weights do the input product step by step as well; training
        // that keeps checkpoints runs the same steps segment by segment.
        if path.lstmLanes != nil {
            if let checkpoints {
                return lstmFusedCheckpointedForward(
                    g, path: path, input: input, inputStride: inputStride, packed: packed,
                    initialHidden: initialHidden, initialCell: initialCell, output: output, outputStride: outputStride,
                    finalHidden: h, finalCell: c, gates: packed.fusesInput ? nil : gates, checkpoints: checkpoints)
            }
            return lstmFusedForward(g, path: path, input: input, inputStride: inputStride, packed: packed,
                                    initialHidden: initialHidden, initialCell: initialCell,
                                    output: output, outputStride: outputStride, finalHidden: h, finalCell: c,
                                    gates: packed.fusesInput && record == nil ? nil : gates, record: record)
        }
        return lstmReferenceForwardLoop(g, recurrent: packed.recurrentWeights!, bias: packed.bias, lengths: nil,
                                        initialHidden: initialHidden, initialCell: initialCell, output: output,
                                        outputStride: outputStride, finalHidden: h, finalCell: c, gates: gates,
                                        record: record, checkpoints: checkpoints)
    }
    // Padded batches, on every path: the reference loop.
    lstmProduct(m: g.rows, n: width, k: g.inputSize, a: input, lda: inputStride, b: w.inputWeights,
                transposeB: true, beta: 0, c: gates, ldc: width, path: path)
    let bias = UnsafeMutablePointer<Float>.allocate(capacity: width)   // b_ih + b_hh, once per call
    defer { bias.deallocate() }
    for j in 0 ..< width { bias[j] = w.inputBias[j] + w.recurrentBias[j] }
    // W_hh^T packed once for all T steps (packing it per step cost more than the multiply).
    let recurrent = PackedMatrixB(b: w.recurrentWeights, ldb: hidden, transposed: true, k: hidden, n: width,
                                  maximumRows: 1, path: path)
    lstmReferenceForwardLoop(g, recurrent: recurrent, bias: bias, lengths: lengths, initialHidden: initialHidden,
                             initialCell: initialCell, output: output, outputStride: outputStride, finalHidden: h,
                             finalCell: c, gates: gates, record: record, checkpoints: checkpoints)
}

/// The reference forward time loop (the Swift path, and padded batches on
/// every path), after x W_ih^T of every row is in `gates`: the recurrent
/// product from `recurrent` (W_hh^T packed) and the cell update with `bias`,
/// over every step (`lstmReferenceForwardSteps`) on each chunk of batch rows.
private func lstmReferenceForwardLoop(
    _ g: LSTMSequenceGeometry, recurrent: PackedMatrixB, bias: UnsafePointer<Float>, lengths: UnsafePointer<Int>?,
    initialHidden: UnsafePointer<Float>, initialCell: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, outputStride: Int,
    finalHidden h: UnsafeMutablePointer<Float>, finalCell c: UnsafeMutablePointer<Float>,
    gates: UnsafeMutablePointer<Float>, record: UnsafeMutablePointer<Float>?, checkpoints: LSTMCheckpointRows?
) {
    let width = g.gateWidth
    h.update(from: initialHidden, count: g.batch * g.hiddenSize)
    c.update(from: initialCell, count: g.batch * g.hiddenSize)
    forEachBatchChunk(g) { rows in
        lstmReferenceForwardSteps(
            g, rows: rows, steps: 0 ..< g.timesteps, recurrent: recurrent, bias: bias, lengths: lengths,
            hidden: h, cell: c, gates: LSTMRows(base: gates, stride: width), stagedInput: nil,
            output: LSTMRows(base: output, stride: outputStride), record: record.map { LSTMRecordRows(g, record: $0) },
            checkpoints: checkpoints)
    }
}

/// The reference forward time loop over processing steps `steps` of batch
/// rows `rows`: `hidden` and `cell` ([B, H]) hold the state before the first
/// step and after the last; `gates` holds x_t W_ih^T of each row (copied in
/// from `stagedInput` first when given) and is activated in place; `output`
/// (when given) gets h_t, zero on padded rows; `record` gets c_t, c_{t-1} and
/// h_{t-1} of valid rows; `checkpoints` the state before each segment's first step.
func lstmReferenceForwardSteps(
    _ g: LSTMSequenceGeometry, rows: Range<Int>, steps: Range<Int>, recurrent: PackedMatrixB,
    bias: UnsafePointer<Float>, lengths: UnsafePointer<Int>?,
    hidden h: UnsafeMutablePointer<Float>, cell c: UnsafeMutablePointer<Float>,
    gates: LSTMRows, stagedInput: LSTMRows?, output: LSTMRows?, record: LSTMRecordRows?,
    checkpoints: LSTMCheckpointRows?
) {
    let (hidden, width) = (g.hiddenSize, g.gateWidth)
    for s in steps {
        let t = g.timestep(s)
        if let checkpoints, s % checkpoints.segments.interval == 0 {
            let state = checkpoints.state(s / checkpoints.segments.interval)
            (state.hidden + rows.lowerBound * hidden).update(from: h + rows.lowerBound * hidden, count: rows.count * hidden)
            (state.cell + rows.lowerBound * hidden).update(from: c + rows.lowerBound * hidden, count: rows.count * hidden)
        }
        if let stagedInput {
            for b in rows { gates.row(g, b, step: s).update(from: stagedInput.row(g, b, step: s), count: width) }
        }
        // a_t += h_{t-1} W_hh^T for these rows (A read in place: no shared scratch).
        recurrent.multiplyInPlace(m: rows.count, a: h + rows.lowerBound * hidden, lda: hidden, beta: 1,
                                  c: gates.row(g, rows.lowerBound, step: s), ldc: gates.batchStride(g))
        for b in rows {
            let y = output?.row(g, b, step: s)
            if let lengths, t >= lengths[b] {
                y?.update(repeating: 0, count: hidden)   // padding: state unchanged, output zero
                continue
            }
            let (hb, cb) = (h + b * hidden, c + b * hidden)
            if let record {
                record.previousHidden.row(g, b, step: s).update(from: hb, count: hidden)
                record.previousCells.row(g, b, step: s).update(from: cb, count: hidden)
            }
            lstmCellForward(gates: gates.row(g, b, step: s), bias: bias, hidden: hidden, cell: cb, output: hb)
            y?.update(from: hb, count: hidden)
            if let record { record.cells.row(g, b, step: s).update(from: cb, count: hidden) }
        }
    }
}

/// Runs `body` once per contiguous chunk of batch rows, on the worker pool when
/// the sequence's recurrent work repays the hand-off. Batch entries are
/// independent sequences, so each chunk runs every timestep without waiting for
/// the others: the pool is entered once per call, not once per step (a hand-off
/// per step cost a few microseconds and, through `withoutActuallyEscaping`, one
/// heap allocation). Chunks start at multiples of 4 rows, the AVX-512 forward
/// kernel's row tile (a chunk's last tile may still be partial on the other
/// paths, whose tiles are 3, 6 or 8 rows).
func forEachBatchChunk(_ g: LSTMSequenceGeometry, _ body: (Range<Int>) -> Void) {
    // The recurrent products of all steps.
    forEachBatchChunk(batch: g.batch, flops: 2 * g.rows * g.hiddenSize * g.gateWidth, body)
}

/// `forEachBatchChunk` for `batch` rows whose time loop does `flops` of recurrent work
/// (shared by the LSTM's and the GRU's loops).
func forEachBatchChunk(batch: Int, flops: Int, _ body: (Range<Int>) -> Void) {
    let alignment = 4
    let blocks = (batch + alignment - 1) / alignment
    let parts = flops >= gemmThreadingThreshold ? min(blocks, WorkerPool.shared.threadCount) : 1
    if parts <= 1 { return body(0 ..< batch) }
    WorkerPool.shared.run(parts: parts) { part in
        let range = chunk(part, of: parts, count: blocks)
        body(range.lowerBound * alignment ..< min(batch, range.upperBound * alignment))
    }
}

/// One cell update for one batch row: adds `bias` to `gates` and activates them
/// in place ([G]: i, f, g, o), then `cell = f * cell + i * g` and
/// `output = o * tanh(cell)`.
@inline(__always)
func lstmCellForward(gates a: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, hidden: Int,
                     cell: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>) {
    for j in 0 ..< 4 * hidden { a[j] += bias[j] }
    applySigmoid(a, count: 2 * hidden)            // i, f
    applyTanh(a + 2 * hidden, count: hidden)      // g
    applySigmoid(a + 3 * hidden, count: hidden)   // o
    for j in 0 ..< hidden {
        cell[j] = a[hidden + j] * cell[j] + a[j] * a[2 * hidden + j]
        output[j] = cell[j]
    }
    applyTanh(output, count: hidden)
    for j in 0 ..< hidden { output[j] = a[3 * hidden + j] * output[j] }
}

/// Backward of one direction through time.
///
/// Reads `record` (an `LSTMRecordLayout` buffer from the forward pass),
/// `outputGradient` (dL/dh_t of every row, `outputGradientStride` apart; ignored
/// on padded rows, whose output is a constant zero) and the gradients arriving at
/// the final state. Writes `inputGradient` ([rows, I], `inputGradientStride`
/// apart): overwrites when `accumulateInput` is false, else adds. Accumulates into
/// the four parameter gradients. Overwrites `initialHiddenGradient` and
/// `initialCellGradient` ([B, H]). `workspace` is `lstmBackwardWorkspaceCount` floats.
/// `path` picks the micro-kernels (tests compare the paths).
func lstmSequenceBackward(
    _ g: LSTMSequenceGeometry, input: UnsafePointer<Float>, inputStride: Int, weights w: LSTMWeightPointers,
    lengths: UnsafePointer<Int>?, record: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, outputGradientStride: Int,
    finalHiddenGradient: UnsafePointer<Float>, finalCellGradient: UnsafePointer<Float>,
    inputGradient: UnsafeMutablePointer<Float>, inputGradientStride: Int, accumulateInput: Bool,
    inputWeightsGradient: UnsafeMutablePointer<Float>, recurrentWeightsGradient: UnsafeMutablePointer<Float>,
    inputBiasGradient: UnsafeMutablePointer<Float>, recurrentBiasGradient: UnsafeMutablePointer<Float>,
    initialHiddenGradient dh: UnsafeMutablePointer<Float>, initialCellGradient dc: UnsafeMutablePointer<Float>,
    workspace: UnsafeMutablePointer<Float>, path: GEMMKernelPath = .active
) {
    let dA = workspace                                   // [rows, G]
    if lengths == nil && path.lstmLanes != nil {
        lstmFusedBackward(g, path: path, weights: w, record: record, outputGradient: outputGradient,
                          outputGradientStride: outputGradientStride, finalHiddenGradient: finalHiddenGradient,
                          finalCellGradient: finalCellGradient, initialHiddenGradient: dh, initialCellGradient: dc, dA: dA)
    } else {
        lstmReferenceBackwardLoop(g, weights: w, lengths: lengths, record: record, outputGradient: outputGradient,
                                  outputGradientStride: outputGradientStride, finalHiddenGradient: finalHiddenGradient,
                                  finalCellGradient: finalCellGradient, initialHiddenGradient: dh,
                                  initialCellGradient: dc, workspace: workspace, path: path)
    }
    let layout = LSTMRecordLayout(rows: g.rows, hidden: g.hiddenSize)
    lstmParameterGradients(g, input: input, inputStride: inputStride, weights: w,
                           previousHidden: record + layout.previousHidden, dA: dA,
                           inputGradient: inputGradient, inputGradientStride: inputGradientStride,
                           accumulateInput: accumulateInput, inputWeightsGradient: inputWeightsGradient,
                           recurrentWeightsGradient: recurrentWeightsGradient, inputBiasGradient: inputBiasGradient,
                           recurrentBiasGradient: recurrentBiasGradient, path: path)
}

/// The reference backward time loop (the Swift path, and padded batches on every
/// path): fills `dA` (the workspace's first [rows, G]) and writes dL/dh0, dL/dc0.
private func lstmReferenceBackwardLoop(
    _ g: LSTMSequenceGeometry, weights w: LSTMWeightPointers, lengths: UnsafePointer<Int>?,
    record: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, outputGradientStride: Int,
    finalHiddenGradient: UnsafePointer<Float>, finalCellGradient: UnsafePointer<Float>,
    initialHiddenGradient dh: UnsafeMutablePointer<Float>, initialCellGradient dc: UnsafeMutablePointer<Float>,
    workspace: UnsafeMutablePointer<Float>, path: GEMMKernelPath
) {
    let (hidden, width, batch) = (g.hiddenSize, g.gateWidth, g.batch)
    let dA = workspace                                   // [rows, G]
    let scratch = workspace + g.rows * width              // [2, B, H]
    dh.update(from: finalHiddenGradient, count: batch * hidden)
    dc.update(from: finalCellGradient, count: batch * hidden)
    // W_hh packed once for all T steps of dh_{t-1} = da_t W_hh.
    let recurrentWeights = PackedMatrixB(b: w.recurrentWeights, ldb: hidden, transposed: false, k: width, n: hidden,
                                         maximumRows: 1, path: path)
    let records = LSTMRecordRows(g, record: UnsafeMutablePointer(mutating: record))
    forEachBatchChunk(g) { rows in
        lstmReferenceBackwardSteps(
            g, rows: rows, steps: 0 ..< g.timesteps, recurrentWeights: recurrentWeights, lengths: lengths,
            gates: LSTMRows(base: UnsafeMutablePointer(mutating: record), stride: width), cells: records.cells,
            previousCells: records.previousCells, outputGradient: outputGradient,
            outputGradientStride: outputGradientStride, dA: dA, hiddenGradient: dh, cellGradient: dc, scratch: scratch)
    }
}

/// The reference backward time loop over processing steps `steps`, latest
/// first, for batch rows `rows`: reads the activated `gates`, c_t (`cells`)
/// and c_{t-1} (`previousCells`) of each row; writes dA of each row ([rows,
/// G] in the geometry's rows; zero on padded rows); `hiddenGradient` and
/// `cellGradient` ([B, H]) carry dL/dh and dL/dc into the last step and out of
/// the first. `scratch` is [2, B, H].
func lstmReferenceBackwardSteps(
    _ g: LSTMSequenceGeometry, rows: Range<Int>, steps: Range<Int>, recurrentWeights: PackedMatrixB,
    lengths: UnsafePointer<Int>?, gates: LSTMRows, cells: LSTMRows, previousCells: LSTMRows,
    outputGradient: UnsafePointer<Float>, outputGradientStride: Int, dA: UnsafeMutablePointer<Float>,
    hiddenGradient dh: UnsafeMutablePointer<Float>, cellGradient dc: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>
) {
    let (hidden, width) = (g.hiddenSize, g.gateWidth)
    let recurrent = scratch                               // [B, H]
    let tanhCells = scratch + g.batch * hidden            // [B, H] scratch, one row per batch entry
    for s in steps.reversed() {
        let t = g.timestep(s)
        for b in rows {
            let r = g.row(b, t)
            let da = dA + r * width
            if let lengths, t >= lengths[b] {
                da.update(repeating: 0, count: width)   // padding: gradients pass through unchanged
                continue
            }
            let a = gates.row(g, b, step: s)
            let cell = cells.row(g, b, step: s)
            let previousCell = previousCells.row(g, b, step: s)
            let dy = outputGradient + r * outputGradientStride
            let (dhb, dcb) = (dh + b * hidden, dc + b * hidden)
            let tanhCell = tanhCells + b * hidden
            applyTanh(from: cell, to: tanhCell, count: hidden)
            for j in 0 ..< hidden {
                let (i, f, gg, o) = (a[j], a[hidden + j], a[2 * hidden + j], a[3 * hidden + j])
                let dhTotal = dhb[j] + dy[j]
                let tc = tanhCell[j]
                let dcTotal = dcb[j] + dhTotal * o * (1 - tc * tc)
                da[j] = dcTotal * gg * i * (1 - i)                          // d a_i
                da[hidden + j] = dcTotal * previousCell[j] * f * (1 - f)     // d a_f
                da[2 * hidden + j] = dcTotal * i * (1 - gg * gg)             // d a_g
                da[3 * hidden + j] = dhTotal * tc * o * (1 - o)              // d a_o
                dcb[j] = dcTotal * f
            }
        }
        // dh_{t-1} = da_t W_hh for these rows; padded rows keep their dh.
        recurrentWeights.multiplyInPlace(m: rows.count, a: dA + g.row(rows.lowerBound, t) * width,
                                         lda: width * g.batchStride, beta: 0,
                                         c: recurrent + rows.lowerBound * hidden, ldc: hidden)
        for b in rows where lengths == nil || t < lengths![b] {
            (dh + b * hidden).update(from: recurrent + b * hidden, count: hidden)
        }
    }
}

/// Parameter and input gradients from the gate gradients `dA` ([rows, G]) of
/// every row at once, with h_{t-1} of every row (`previousHidden`, [rows, H]):
/// three large products and a column sum. Padded rows have zero `dA`, so they
/// add nothing.
func lstmParameterGradients(
    _ g: LSTMSequenceGeometry, input: UnsafePointer<Float>, inputStride: Int, weights w: LSTMWeightPointers,
    previousHidden: UnsafePointer<Float>, dA: UnsafePointer<Float>,
    inputGradient: UnsafeMutablePointer<Float>, inputGradientStride: Int, accumulateInput: Bool,
    inputWeightsGradient: UnsafeMutablePointer<Float>, recurrentWeightsGradient: UnsafeMutablePointer<Float>,
    inputBiasGradient: UnsafeMutablePointer<Float>, recurrentBiasGradient: UnsafeMutablePointer<Float>,
    path: GEMMKernelPath
) {
    let (hidden, width) = (g.hiddenSize, g.gateWidth)
    gemm(transposeA: true, transposeB: false, m: width, n: g.inputSize, k: g.rows,
         a: dA, lda: width, b: input, ldb: inputStride, beta: 1, c: inputWeightsGradient, ldc: g.inputSize, path: path)
    gemm(transposeA: true, transposeB: false, m: width, n: hidden, k: g.rows,
         a: dA, lda: width, b: previousHidden, ldb: hidden, beta: 1,
         c: recurrentWeightsGradient, ldc: hidden, path: path)
    for r in 0 ..< g.rows {
        let da = dA + r * width
        for j in 0 ..< width {
            inputBiasGradient[j] += da[j]
            recurrentBiasGradient[j] += da[j]
        }
    }
    lstmProduct(m: g.rows, n: g.inputSize, k: width, a: dA, lda: width, b: w.inputWeights, transposeB: false,
                beta: accumulateInput ? 1 : 0, c: inputGradient, ldc: inputGradientStride, path: path)
}

/// `C = A op(B) + beta C` for the products over all rows with a weight matrix
/// as B (x W_ih^T forward, dA W_ih backward). While packed B fits in about
/// half an L2 cache, B is packed once and A read in place by row blocks on the
/// pool; larger weights (lstm.flat: 16 MB) go through the blocked `gemm`,
/// whose column groups keep B's working set in L2.
func lstmProduct(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, transposeB: Bool,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, path: GEMMKernelPath
) {
    guard k * n <= 1 << 17 else {
        return gemm(transposeA: false, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda,
                    b: b, ldb: transposeB ? k : n, beta: beta, c: c, ldc: ldc, path: path)
    }
    PackedMatrixB(b: b, ldb: transposeB ? k : n, transposed: transposeB, k: k, n: n, maximumRows: 1, path: path)
        .multiplyInPlaceThreaded(m: m, a: a, lda: lda, beta: beta, c: c, ldc: ldc)
}

/// Floats of workspace `lstmSequenceBackward` needs.
func lstmBackwardWorkspaceCount(_ g: LSTMSequenceGeometry) -> Int {
    g.rows * g.gateWidth + 2 * g.batch * g.hiddenSize
}

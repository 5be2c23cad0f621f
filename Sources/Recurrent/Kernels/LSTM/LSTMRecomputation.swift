// Gradient checkpointing for one direction of an LSTM layer: the training
// forward keeps the state (h, c) at the start of every segment of k steps
// instead of the record of every row, and backward recomputes each segment's
// record from its state, latest segment first, just before it needs it.
//
// Legend as in LSTMSequence.swift (B, T, I, H, G = 4H; rows in the caller's
// layout); segments as in TimeSegments.swift (k steps, S = ceil(T / k),
// K = min(k, T)).
//
// Bit for bit equal to the stored path (LSTMSequence.swift, LSTMFusedSequence.swift):
// - The parameter gradients are products over all B * T rows after the time
//   loop (dW_ih = dA^T X, dW_hh = dA^T H_prev, the bias sums, dX = dA W_ih),
//   whose K = B * T blocking and row order a per-segment product could not
//   reproduce. So dA of every row is kept (the stored path's workspace) and
//   h_{t-1} of every row too (written while segments are recomputed, zero on
//   padded rows as in the stored record), and the same products run after
//   the loop. What backward no longer needs from the forward pass is the
//   gates, c_t and c_{t-1} (6H of the record's 7H per row), recomputed per
//   segment into [K, B, X] buffers, and h_{t-1} (the last H) until backward.
// - Each segment's forward runs the stored path's step kernels on the same
//   batch chunks (`forEachBatchChunk` of the whole geometry) from a copy of the
//   state the stored path had at that step; x_t W_ih^T, where it is not part
//   of the step (large inputs; the Swift and padded path), is the stored
//   path's one product over all rows, written into dA's rows before any of
//   them hold a gradient and copied into a step's gates just before the step.
//   The fused forward skips the recurrent product of the very first step for
//   a zero h0 only, as the stored path does, never at a later segment's start.
// - The backward steps are the stored path's, latest first; at a segment
//   boundary the fused step reads dA of the next step out of the full dA, as
//   the stored path does, and the Swift step carries dh and dc in [B, H]
//   buffers: nothing about a boundary is visible to the arithmetic.
// Kept from forward to backward: S states (2 S B H floats, the first being
// h0, c0, which the LSTM's cache does not hold otherwise) instead of 7 T B H.
// Backward's workspace grows by h_{t-1} of every row and one segment's
// gates, c_t, c_{t-1} and h_t (T B H + 7 K B H floats).
//
// On x86 the steps are the fused C kernels, driven as LSTMFusedSequence.swift
// drives them (LSTMFusedSteps.swift). The whole backward runs in one
// `forEachBatchChunk`: each chunk of batch rows is an independent set of
// sequences and goes through every segment on its own thread, so nothing is
// allocated or synchronized per segment or per step.

import FrameSequencing

/// Floats of the workspace `lstmRecomputedBackward` needs: dA [rows, G] first
/// (as `lstmBackwardWorkspaceCount`'s), h_{t-1} [rows, H], one segment's gates
/// [K B, G], c_t, c_{t-1} and h_t [K B, H] each, then [4, B, H] of states and scratch.
func lstmRecomputedWorkspaceCount(_ g: LSTMSequenceGeometry, _ segments: TimeSegments) -> Int {
    g.rows * (g.gateWidth + g.hiddenSize) + segments.longest * g.batch * (g.gateWidth + 3 * g.hiddenSize)
        + 4 * g.batch * g.hiddenSize
}

/// The forward pass of one direction keeping `checkpoints` instead of a
/// record, on the fused C steps (unpadded batches on x86): writes `output`,
/// `finalHidden` and `finalCell` as `lstmFusedForward` does, from the same
/// `packed` weights (built for `path`). `gates` holds x_t W_ih^T of every row
/// already, or is nil when the steps multiply the input (`packed.fusesInput`).
func lstmFusedCheckpointedForward(
    _ g: LSTMSequenceGeometry, path: GEMMKernelPath, input: UnsafePointer<Float>, inputStride: Int,
    packed: LSTMPackedDirection, initialHidden: UnsafePointer<Float>, initialCell: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, outputStride: Int,
    finalHidden h: UnsafeMutablePointer<Float>, finalCell c: UnsafeMutablePointer<Float>,
    gates: UnsafeMutablePointer<Float>?, checkpoints: LSTMCheckpointRows
) {
    precondition(packed.path == path, "lstmFusedCheckpointedForward: weights packed for \(packed.path), not \(path)")
    let steps = LSTMFusedForwardSteps(g, packed: packed)
    let hidden = g.hiddenSize
    c.update(from: initialCell, count: g.batch * hidden)
    let y = LSTMRows(base: output, stride: outputStride)
    let interval = checkpoints.segments.interval
    forEachBatchChunk(g) { rows in
        let (b0, count) = (rows.lowerBound, rows.count * hidden)
        for j in 0 ..< checkpoints.segments.count {
            let segment = checkpoints.segments.steps(j)
            let state = checkpoints.state(j)
            // h before the segment: h0, or the output rows of the step before.
            if j == 0 {
                (state.hidden + b0 * hidden).update(from: initialHidden + b0 * hidden, count: count)
            } else {
                for b in rows { (state.hidden + b * hidden).update(from: y.row(g, b, step: j * interval - 1), count: hidden) }
            }
            (state.cell + b0 * hidden).update(from: c + b0 * hidden, count: count)
            steps.run(rows: rows, steps: segment, input: input, inputStride: inputStride,
                      initialHidden: initialHidden, startHidden: state.hidden, cell: c, output: y,
                      gates: gates.map { LSTMRows(base: $0, stride: g.gateWidth) }, stagedInput: nil, record: nil)
        }
    }
    let last = g.timestep(g.timesteps - 1)   // h_n: the last processed step's output rows
    for b in 0 ..< g.batch { (h + b * hidden).update(from: output + g.row(b, last) * outputStride, count: hidden) }
}

/// Backward of one direction from a checkpointed forward pass's
/// `checkpoints` ([S, 2, B, H]): arguments and results as
/// `lstmSequenceBackward`'s, bit for bit; `workspace` is
/// `lstmRecomputedWorkspaceCount` floats.
func lstmRecomputedBackward(
    _ g: LSTMSequenceGeometry, input: UnsafePointer<Float>, inputStride: Int, weights w: LSTMWeightPointers,
    lengths: UnsafePointer<Int>?, checkpoints: LSTMCheckpointRows,
    outputGradient: UnsafePointer<Float>, outputGradientStride: Int,
    finalHiddenGradient: UnsafePointer<Float>, finalCellGradient: UnsafePointer<Float>,
    inputGradient: UnsafeMutablePointer<Float>, inputGradientStride: Int, accumulateInput: Bool,
    inputWeightsGradient: UnsafeMutablePointer<Float>, recurrentWeightsGradient: UnsafeMutablePointer<Float>,
    inputBiasGradient: UnsafeMutablePointer<Float>, recurrentBiasGradient: UnsafeMutablePointer<Float>,
    initialHiddenGradient dh: UnsafeMutablePointer<Float>, initialCellGradient dc: UnsafeMutablePointer<Float>,
    workspace: UnsafeMutablePointer<Float>, path: GEMMKernelPath = .active
) {
    let (hidden, width, batch, segments) = (g.hiddenSize, g.gateWidth, g.batch, checkpoints.segments)
    let segmentRows = segments.longest * batch
    let dA = workspace                                             // [rows, G]
    let previousHidden = dA + g.rows * width                       // [rows, H]
    let segmentGates = previousHidden + g.rows * hidden            // [K B, G]
    let segmentCells = segmentGates + segmentRows * width          // [K B, H] each: c_t, c_{t-1}, h_t
    let segmentPreviousCells = segmentCells + segmentRows * hidden
    let segmentOutput = segmentPreviousCells + segmentRows * hidden
    let states = segmentOutput + segmentRows * hidden              // [2, B, H]: h and c as recomputed
    let scratch = states + 2 * batch * hidden                      // [2, B, H]

    let fused = lengths == nil && path.lstmLanes != nil
    let stagesInput = !(fused && lstmFusesInput(g))
    if stagesInput {
        // x_t W_ih^T of every row, the stored forward's product, into dA's rows
        // (each is read by its segment's recomputation before its gradient is written).
        lstmProduct(m: g.rows, n: width, k: g.inputSize, a: input, lda: inputStride, b: w.inputWeights,
                    transposeB: true, beta: 0, c: dA, ldc: width, path: path)
    }
    // Padded rows of h_{t-1} stay zero, as in the stored record (their dA is zero).
    if lengths != nil { previousHidden.update(repeating: 0, count: g.rows * hidden) }
    dh.update(from: finalHiddenGradient, count: batch * hidden)
    dc.update(from: finalCellGradient, count: batch * hidden)
    func inSegment(_ base: UnsafeMutablePointer<Float>, _ stride: Int, _ steps: Range<Int>) -> LSTMRows {
        LSTMRows(base: base, stride: stride, firstStep: steps.lowerBound)
    }
    let staged = stagesInput ? LSTMRows(base: dA, stride: width) : nil
    let dARows = LSTMRows(base: dA, stride: width)

    if fused {
        // Packed per call, as the training forward packs them.
        let forward = LSTMFusedForwardSteps(g, packed: LSTMPackedDirection(g, weights: w, path: path, forReuse: false))
        let backward = LSTMFusedBackwardSteps(g, path: path, weights: w)
        defer { backward.deallocate() }
        forEachBatchChunk(g) { rows in
            let (b0, count) = (rows.lowerBound, rows.count * hidden)
            for j in stride(from: segments.count - 1, through: 0, by: -1) {
                let steps = segments.steps(j)
                let state = checkpoints.state(j)
                (states + batch * hidden + b0 * hidden).update(from: state.cell + b0 * hidden, count: count)
                let record = LSTMRecordRows(cells: inSegment(segmentCells, hidden, steps),
                                            previousCells: inSegment(segmentPreviousCells, hidden, steps),
                                            previousHidden: LSTMRows(base: previousHidden, stride: hidden))
                let gates = inSegment(segmentGates, width, steps)
                forward.run(rows: rows, steps: steps, input: input, inputStride: inputStride,
                            initialHidden: checkpoints.state(0).hidden, startHidden: state.hidden,
                            cell: states + batch * hidden, output: inSegment(segmentOutput, hidden, steps),
                            gates: gates, stagedInput: staged, record: record)
                backward.run(rows: rows, steps: steps, gates: gates, cells: record.cells,
                             previousCells: record.previousCells, outputGradient: outputGradient,
                             outputGradientStride: outputGradientStride, finalHiddenGradient: finalHiddenGradient,
                             dA: dARows, hiddenGradient: dh, cellGradient: dc)
            }
            backward.finish(rows: rows, dA: dARows, finalHiddenGradient: finalHiddenGradient, hiddenGradient: dh)
        }
    } else {
        let bias = UnsafeMutablePointer<Float>.allocate(capacity: width)   // b_ih + b_hh, once per call
        defer { bias.deallocate() }
        for j in 0 ..< width { bias[j] = w.inputBias[j] + w.recurrentBias[j] }
        let recurrent = PackedMatrixB(b: w.recurrentWeights, ldb: hidden, transposed: true, k: hidden, n: width,
                                      maximumRows: 1, path: path)
        let recurrentWeights = PackedMatrixB(b: w.recurrentWeights, ldb: hidden, transposed: false, k: width, n: hidden,
                                             maximumRows: 1, path: path)
        forEachBatchChunk(g) { rows in
            let (b0, count) = (rows.lowerBound, rows.count * hidden)
            for j in stride(from: segments.count - 1, through: 0, by: -1) {
                let steps = segments.steps(j)
                let state = checkpoints.state(j)
                (states + b0 * hidden).update(from: state.hidden + b0 * hidden, count: count)
                (states + batch * hidden + b0 * hidden).update(from: state.cell + b0 * hidden, count: count)
                let record = LSTMRecordRows(cells: inSegment(segmentCells, hidden, steps),
                                            previousCells: inSegment(segmentPreviousCells, hidden, steps),
                                            previousHidden: LSTMRows(base: previousHidden, stride: hidden))
                let gates = inSegment(segmentGates, width, steps)
                lstmReferenceForwardSteps(
                    g, rows: rows, steps: steps, recurrent: recurrent, bias: bias, lengths: lengths,
                    hidden: states, cell: states + batch * hidden, gates: gates, stagedInput: staged, output: nil,
                    record: record, checkpoints: nil)
                lstmReferenceBackwardSteps(
                    g, rows: rows, steps: steps, recurrentWeights: recurrentWeights, lengths: lengths, gates: gates,
                    cells: record.cells, previousCells: record.previousCells, outputGradient: outputGradient,
                    outputGradientStride: outputGradientStride, dA: dA, hiddenGradient: dh, cellGradient: dc,
                    scratch: scratch)
            }
        }
    }
    lstmParameterGradients(g, input: input, inputStride: inputStride, weights: w, previousHidden: previousHidden,
                           dA: dA, inputGradient: inputGradient, inputGradientStride: inputGradientStride,
                           accumulateInput: accumulateInput, inputWeightsGradient: inputWeightsGradient,
                           recurrentWeightsGradient: recurrentWeightsGradient, inputBiasGradient: inputBiasGradient,
                           recurrentBiasGradient: recurrentBiasGradient, path: path)
}

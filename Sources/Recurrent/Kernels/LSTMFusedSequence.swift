// The x86 time loops of one LSTM direction: per timestep one call of a fused C
// kernel (CFrameKernels/lstm_step_body.h) that multiplies the recurrent weights
// and, with the tile still in registers, runs the element-wise part. The Swift
// loops in LSTMSequence.swift are their reference twins (and the arm64 path).
//
// Legend as in LSTMSequence.swift: B batch, T timesteps, I input features, H
// hidden units, G = 4H gates (i, f, g, o); "rows" in the caller's layout.
//
// Per step the work is split over the unit groups (16 units on AVX-512), so each
// thread reads all of h_{t-1} but only its share of the packed weights, and
// writes only its own units of c, h and the record. h_{t-1} is read in place
// from the previous step's output rows; nothing is copied between steps.

import FrameSequencing
internal import CFrameKernels

extension GEMMKernelPath {
    /// Units per vector of the fused LSTM kernels; nil for the Swift path.
    var lstmLanes: Int? {
        switch self {
        case .avx512: 16
        case .avx2: 8
        case .swift: nil
        }
    }
}

/// Per-step work (flops of the recurrent product) from which a step is split
/// over the worker pool: below it the hand-off costs more than the second core
/// saves.
let lstmStepThreadingThreshold = 1 << 20

/// `count` floats aligned to 64 bytes, as the packed weights need.
private func alignedFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer.allocate(byteCount: max(count, 16) * MemoryLayout<Float>.stride, alignment: 64)
        .bindMemory(to: Float.self, capacity: max(count, 16))
}

/// Runs `body` over `0 ..< count` in contiguous chunks, one per thread when the
/// step is large enough.
@inline(__always)
private func forEachChunk(count: Int, flops: Int, _ body: (Int, Int) -> Void) {
    let parts = flops >= lstmStepThreadingThreshold ? min(count, WorkerPool.shared.threadCount) : 1
    if parts <= 1 { return body(0, count) }
    WorkerPool.shared.run(parts: parts) { part in
        let range = chunk(part, of: parts, count: count)
        body(range.lowerBound, range.upperBound)
    }
}

/// The fused forward time loop. `gates` holds x_t W_ih^T for every row (the
/// input product, already done); everything else as `lstmSequenceForward`, which
/// calls this for unpadded batches on the C paths.
func lstmFusedForward(
    _ g: LSTMSequenceGeometry, path: GEMMKernelPath, weights w: LSTMWeightPointers,
    initialHidden: UnsafePointer<Float>, initialCell: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, outputStride: Int,
    finalHidden h: UnsafeMutablePointer<Float>, finalCell c: UnsafeMutablePointer<Float>,
    gates: UnsafeMutablePointer<Float>, record: UnsafeMutablePointer<Float>?
) {
    guard let lanes = path.lstmLanes else { preconditionFailure("lstmFusedForward: no fused kernel on \(path)") }
    let (hidden, width, batch) = (g.hiddenSize, g.gateWidth, g.batch)
    let layout = LSTMRecordLayout(rows: g.rows, hidden: hidden)
    let packed = alignedFloats(fsk_lstm_forward_packed_count(hidden, lanes))   // W_hh^T, once per call
    let bias = UnsafeMutablePointer<Float>.allocate(capacity: width)           // b_ih + b_hh
    defer {
        packed.deallocate()
        bias.deallocate()
    }
    fsk_lstm_pack_forward(w.recurrentWeights, hidden, lanes, packed)
    for j in 0 ..< width { bias[j] = w.inputBias[j] + w.recurrentBias[j] }
    c.update(from: initialCell, count: batch * hidden)
    h.update(from: initialHidden, count: batch * hidden)

    let groups = fsk_lstm_forward_groups(hidden, lanes)
    let flops = 2 * batch * hidden * width
    // Row (b, t) of a [rows, X] buffer is at row(0, t) * X + b * (batchStride * X).
    let ldOutput = g.batchStride * outputStride
    var step = fsk_lstm_forward_step()
    step.batch = batch
    step.hidden = hidden
    step.weights = UnsafePointer(packed)
    step.bias = UnsafePointer(bias)
    step.c = c
    step.ldc = hidden
    step.ldgates = g.batchStride * width
    step.write_gates = record == nil ? 0 : 1
    step.ldy = ldOutput
    (step.ldcells, step.ldprevc, step.ldprevh) = (g.batchStride * hidden, g.batchStride * hidden, g.batchStride * hidden)

    for s in 0 ..< g.timesteps {
        let t = g.timestep(s)
        let first = g.row(0, t)
        if s == 0 {
            (step.h, step.ldh) = (initialHidden, hidden)
        } else {
            (step.h, step.ldh) = (UnsafePointer(output + g.row(0, g.timestep(s - 1)) * outputStride), ldOutput)
        }
        step.gates = gates + first * width
        step.y = output + first * outputStride
        if let record {
            step.cells = record + layout.cells + first * hidden
            step.previous_cells = record + layout.previousCells + first * hidden
            step.previous_hidden = record + layout.previousHidden + first * hidden
        }
        forEachChunk(count: groups, flops: flops) { start, end in
            withUnsafePointer(to: step) { step in
                if path == .avx512 {
                    fsk_lstm_forward_avx512(step, start, end)
                } else {
                    fsk_lstm_forward_avx2(step, start, end)
                }
            }
        }
    }
    if g.timesteps > 0 {   // h_n: the last processed step's output rows
        let last = g.timestep(g.timesteps - 1)
        for b in 0 ..< batch {
            (h + b * hidden).update(from: output + g.row(b, last) * outputStride, count: hidden)
        }
    }
}

/// The fused backward time loop: fills `dA` ([rows, G]) with the gate gradients
/// of every row and writes dL/dh0 and dL/dc0 (`dh`, `dc`); the caller runs the
/// parameter and input products over all rows afterwards. Arguments as
/// `lstmSequenceBackward`, which calls this for unpadded batches on the C paths.
func lstmFusedBackward(
    _ g: LSTMSequenceGeometry, path: GEMMKernelPath, weights w: LSTMWeightPointers,
    record: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, outputGradientStride: Int,
    finalHiddenGradient: UnsafePointer<Float>, finalCellGradient: UnsafePointer<Float>,
    initialHiddenGradient dh: UnsafeMutablePointer<Float>, initialCellGradient dc: UnsafeMutablePointer<Float>,
    dA: UnsafeMutablePointer<Float>
) {
    guard let lanes = path.lstmLanes else { preconditionFailure("lstmFusedBackward: no fused kernel on \(path)") }
    let (hidden, width, batch) = (g.hiddenSize, g.gateWidth, g.batch)
    let layout = LSTMRecordLayout(rows: g.rows, hidden: hidden)
    let packed = alignedFloats(fsk_lstm_backward_packed_count(hidden, lanes))   // W_hh, once per call
    defer { packed.deallocate() }
    fsk_lstm_pack_backward(w.recurrentWeights, hidden, lanes, packed)
    dc.update(from: finalCellGradient, count: batch * hidden)

    let panels = fsk_lstm_backward_panels(hidden, lanes)
    let flops = 2 * batch * hidden * width
    let (ldGates, ldHidden) = (g.batchStride * width, g.batchStride * hidden)
    var step = fsk_lstm_backward_step()
    step.batch = batch
    step.hidden = hidden
    step.weights = UnsafePointer(packed)
    (step.ldda_next, step.ldda, step.ldgates) = (ldGates, ldGates, ldGates)
    (step.ldcells, step.ldprevc) = (ldHidden, ldHidden)
    step.lddy = g.batchStride * outputGradientStride
    (step.dc, step.lddc) = (dc, hidden)
    (step.dh_out, step.lddh_out) = (dh, hidden)

    func run(_ step: fsk_lstm_backward_step) {
        forEachChunk(count: panels, flops: flops) { start, end in
            withUnsafePointer(to: step) { step in
                if path == .avx512 {
                    fsk_lstm_backward_avx512(step, start, end)
                } else {
                    fsk_lstm_backward_avx2(step, start, end)
                }
            }
        }
    }
    for s in stride(from: g.timesteps - 1, through: 0, by: -1) {
        let first = g.row(0, g.timestep(s))
        if s == g.timesteps - 1 {   // the last step: dh arrives from h_n only
            step.da_next = nil
            (step.dh_in, step.lddh_in) = (finalHiddenGradient, hidden)
        } else {
            step.da_next = UnsafePointer(dA + g.row(0, g.timestep(s + 1)) * width)
            step.dh_in = nil
        }
        step.dy = outputGradient + first * outputGradientStride
        step.gates = record + layout.gates + first * width
        step.cells = record + layout.cells + first * hidden
        step.previous_cells = record + layout.previousCells + first * hidden
        step.da = dA + first * width
        run(step)
    }
    // dL/dh0 = dA of the first processed step times W_hh (no element-wise part).
    guard g.timesteps > 0 else {
        dh.update(from: finalHiddenGradient, count: batch * hidden)
        return
    }
    step.da_next = UnsafePointer(dA + g.row(0, g.timestep(0)) * width)
    (step.dh_in, step.dy, step.gates) = (nil, nil, nil)
    run(step)
}

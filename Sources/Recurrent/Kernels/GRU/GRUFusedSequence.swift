// The x86 time loops of one GRU direction: per timestep one call of a fused C
// kernel (CFrameKernels/gru_step_body.h) per phase, which multiplies the
// recurrent weights and, with the tile still in registers, runs the
// element-wise part. The Swift loops in GRUSequence.swift are their reference
// twins (and the arm64 path and that of padded batches).
//
// Legend as in GRUSequence.swift: B batch, T timesteps, H hidden units,
// G = 3H gates (r, z, n); "rows" in the caller's layout.
//
// As the LSTM's fused loops: the batch is split over the worker pool once
// per call (`forEachBatchChunk`), each thread runs every timestep of its rows
// reading h_{t-1} in place from the previous step's output rows, and nothing
// is allocated or synchronized per step.

internal import CFrameKernels
import FrameSequencing

/// The fused forward time loop; arguments as `gruSequenceForward`, which calls
/// this for unpadded batches on the C paths, with x_t W_ih^T of every row in
/// `gates` and `packed` built for the fused steps.
func gruFusedForward(
    _ g: GRUSequenceGeometry, packed: GRUPackedDirection, initialHidden: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, outputStride: Int, finalHidden h: UnsafeMutablePointer<Float>,
    gates: UnsafeMutablePointer<Float>, record: UnsafeMutablePointer<Float>?
) {
    let path = packed.path
    guard let lanes = path.lstmLanes, let weights = packed.stepWeights else {
        preconditionFailure("gruFusedForward: no fused kernel on \(path), or weights not packed for it")
    }
    let (hidden, width, batch) = (g.hiddenSize, g.gateWidth, g.batch)
    let layout = GRURecordLayout(rows: g.rows, hidden: hidden)
    let groups = fsk_gru_forward_groups(hidden, lanes)
    // m of one step when no record keeps it: [B, H].
    let scratch = record == nil ? alignedFloats(batch * hidden) : nil
    defer { scratch?.deallocate() }

    var template = fsk_gru_forward_step()
    template.hidden = hidden
    template.weights = UnsafePointer(weights)
    template.bias = UnsafePointer(packed.biases.input)
    template.bias_new = UnsafePointer(packed.biases.hiddenNew)
    template.ldgates = g.batchStride * width
    template.ldy = g.batchStride * outputStride
    template.ldm = record == nil ? hidden : g.batchStride * hidden
    template.ldprevh = g.batchStride * hidden

    forEachBatchChunk(batch: batch, flops: g.recurrentFlops) { rows in
        let b0 = rows.lowerBound
        var step = template
        step.batch = rows.count
        func run(_ phase: Int32, reversedOrder: Bool) {
            step.phase = phase
            withUnsafePointer(to: step) { step in
                for q in 0 ..< groups {
                    // Alternating the order starts a step with the groups whose
                    // weights the last one left in L2 (as the LSTM's loop).
                    let group = reversedOrder ? groups - 1 - q : q
                    if path == .avx512 {
                        fsk_gru_forward_avx512(step, group, group + 1)
                    } else {
                        fsk_gru_forward_avx2(step, group, group + 1)
                    }
                }
            }
        }
        for s in 0 ..< g.timesteps {
            let first = g.row(b0, g.timestep(s))
            if s == 0 {
                (step.h, step.ldh) = (initialHidden + b0 * hidden, hidden)
            } else {
                (step.h, step.ldh) = (UnsafePointer(output + g.row(b0, g.timestep(s - 1)) * outputStride),
                                      g.batchStride * outputStride)
            }
            step.gates = gates + first * width
            step.y = output + first * outputStride
            step.m = record.map { $0 + layout.candidates + first * hidden } ?? scratch! + b0 * hidden
            step.previous_hidden = record.map { $0 + layout.previousHidden + first * hidden }
            if g.resetAfter {
                run(0, reversedOrder: s % 2 == 1)
            } else {
                run(1, reversedOrder: s % 2 == 1)   // every group's r * h first: the new gate reads all of them
                run(2, reversedOrder: s % 2 == 0)
            }
        }
    }
    let last = g.timestep(g.timesteps - 1)   // h_n: the last processed step's output rows
    for b in 0 ..< batch { (h + b * hidden).update(from: output + g.row(b, last) * outputStride, count: hidden) }
}

/// The fused backward time loop: fills dA (and with resetAfter dA_hidden) of
/// every row in the workspace's first [2, rows, G] and writes dL/dh0 (`dh`);
/// the caller runs the parameter and input products over all rows afterwards.
/// Arguments as `gruSequenceBackward`, which calls this for unpadded batches
/// on the C paths.
func gruFusedBackward(
    _ g: GRUSequenceGeometry, path: GEMMKernelPath, weights w: GRUWeightPointers, record: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, outputGradientStride: Int, finalHiddenGradient: UnsafePointer<Float>,
    initialHiddenGradient dh: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>
) {
    guard let lanes = path.lstmLanes else { preconditionFailure("gruFusedBackward: no fused kernel on \(path)") }
    let (hidden, width, batch) = (g.hiddenSize, g.gateWidth, g.batch)
    let layout = GRURecordLayout(rows: g.rows, hidden: hidden)
    let dA = workspace                                // [rows, G]
    let dAHidden = dA + g.rows * width                // [rows, G]
    let carry = dAHidden + g.rows * width             // [B, H]
    carry.update(repeating: 0, count: batch * hidden)
    let packed = alignedFloats(fsk_gru_backward_packed_count(hidden, lanes))   // W_hh, once per call
    defer { packed.deallocate() }
    fsk_gru_pack_backward(w.recurrentWeights, hidden, lanes, packed)
    let panels = fsk_gru_backward_panels(hidden, lanes)
    // The product of step t reads step t + 1's gradients on the hidden side.
    let hiddenSide = g.resetAfter ? dAHidden : dA

    let (ldGates, ldHidden) = (g.batchStride * width, g.batchStride * hidden)
    var template = fsk_gru_backward_step()
    template.hidden = hidden
    template.weights = UnsafePointer(packed)
    (template.ldda_next, template.ldda, template.lddah, template.ldgates) = (ldGates, ldGates, ldGates, ldGates)
    (template.ldm, template.ldprevh) = (ldHidden, ldHidden)
    (template.ldcarry, template.lddh_out, template.lddh_in) = (hidden, hidden, hidden)
    template.lddy = g.batchStride * outputGradientStride

    forEachBatchChunk(batch: batch, flops: g.recurrentFlops) { rows in
        let b0 = rows.lowerBound
        var step = template
        step.batch = rows.count
        step.carry = carry + b0 * hidden
        step.dh_out = dh + b0 * hidden
        func run(phase: Int32, depthOffset: Int, depth: Int) {
            (step.phase, step.depth_offset, step.depth) = (phase, depthOffset, depth)
            withUnsafePointer(to: step) { step in
                if path == .avx512 {
                    fsk_gru_backward_avx512(step, 0, panels)
                } else {
                    fsk_gru_backward_avx2(step, 0, panels)
                }
            }
        }
        for s in stride(from: g.timesteps - 1, through: 0, by: -1) {
            let first = g.row(b0, g.timestep(s))
            if s == g.timesteps - 1 {   // the last step: dh arrives from h_n only
                step.da_next = nil
                step.dh_in = finalHiddenGradient + b0 * hidden
            } else {
                step.da_next = UnsafePointer(hiddenSide + g.row(b0, g.timestep(s + 1)) * width)
                step.dh_in = nil
            }
            step.dy = outputGradient + first * outputGradientStride
            step.gates = record + layout.gates + first * width
            step.m = record + layout.candidates + first * hidden
            step.previous_hidden = record + layout.previousHidden + first * hidden
            step.da = dA + first * width
            step.da_hidden = dAHidden + first * width
            if g.resetAfter {
                run(phase: 0, depthOffset: 0, depth: width)
            } else {
                run(phase: 1, depthOffset: 0, depth: 2 * hidden)
                // dm = dn W_hn: this step's dn, every unit of it written by phase 1.
                step.da_next = UnsafePointer(dA + first * width + 2 * hidden)
                run(phase: 2, depthOffset: 2 * hidden, depth: hidden)
            }
        }
        // dL/dh0 = the first processed step's hidden-side gradients times W_hh, plus its carry.
        step.da_next = UnsafePointer(hiddenSide + g.row(b0, g.timestep(0)) * width)
        (step.dh_in, step.dy, step.gates) = (nil, nil, nil)
        run(phase: g.resetAfter ? 0 : 1, depthOffset: 0, depth: g.resetAfter ? width : 2 * hidden)
    }
}

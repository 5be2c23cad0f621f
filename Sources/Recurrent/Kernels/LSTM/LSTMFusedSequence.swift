// The x86 time loops of one LSTM direction: per timestep one call of a fused C
// kernel (CFrameKernels/lstm_step_body.h) that multiplies the recurrent weights
// and, with the tile still in registers, runs the element-wise part. The Swift
// loops in LSTMSequence.swift are their reference twins (and the arm64 path).
//
// Legend as in LSTMSequence.swift: B batch, T timesteps, I input features, H
// hidden units, G = 4H gates (i, f, g, o); "rows" in the caller's layout.
//
// The batch is split over the worker pool once per call (`forEachBatchChunk`):
// each thread runs every timestep of its rows, reading h_{t-1} in place from
// the previous step's output rows, so nothing is copied or synchronized between
// steps.

internal import CFrameKernels
import FrameSequencing

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

/// Whether the fused forward steps also do the input product, x_t W_ih^T, for
/// sequences of `g`: up to 2 MB of packed [W_ih, W_hh], streamed once per step
/// from L2 or L3, instead of a [rows, G] product written for all steps and read
/// back. Larger input weights no longer stay in cache from step to step, so they
/// are multiplied for all steps at once beforehand, reading them once
/// (see Docs/Performance.md, "Design measurements").
func lstmFusesInput(_ g: LSTMSequenceGeometry) -> Bool {
    (g.inputSize + g.hiddenSize) * g.gateWidth <= 1 << 19
}

/// The fused forward time loop; arguments as `lstmSequenceForward`, which calls
/// this for unpadded batches on the C paths with `packed` built for this path.
/// With `packed.fusesInput` each step reads x_t itself and `gates` is only
/// written (the record's gates, in training) or nil (inference); otherwise
/// `gates` holds x_t W_ih^T of every row already.
func lstmFusedForward(
    _ g: LSTMSequenceGeometry, path: GEMMKernelPath, input: UnsafePointer<Float>, inputStride: Int,
    packed: LSTMPackedDirection,
    initialHidden: UnsafePointer<Float>, initialCell: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, outputStride: Int,
    finalHidden h: UnsafeMutablePointer<Float>, finalCell c: UnsafeMutablePointer<Float>,
    gates: UnsafeMutablePointer<Float>?, record: UnsafeMutablePointer<Float>?
) {
    guard let lanes = path.lstmLanes, packed.path == path, let weights = packed.stepWeights else {
        preconditionFailure("lstmFusedForward: no fused kernel on \(path), or weights packed for \(packed.path)")
    }
    let (hidden, width, batch) = (g.hiddenSize, g.gateWidth, g.batch)
    let layout = LSTMRecordLayout(rows: g.rows, hidden: hidden)
    let fuseInput = packed.fusesInput
    let inputs = fuseInput ? g.inputSize : 0
    let groups = fsk_lstm_forward_groups(hidden, lanes)
    let recurrentFinite = packed.recurrentFinite
    c.update(from: initialCell, count: batch * hidden)
    h.update(from: initialHidden, count: batch * hidden)

    // Row (b, t) of a [rows, X] buffer is at row(0, t) * X + b * (batchStride * X).
    let ldOutput = g.batchStride * outputStride
    var template = fsk_lstm_forward_step()
    template.hidden = hidden
    template.inputs = inputs
    template.ldx = g.batchStride * inputStride
    template.add_gates = fuseInput ? 0 : 1
    template.weights = UnsafePointer(weights)
    template.bias = UnsafePointer(packed.bias)
    template.ldc = hidden
    template.ldgates = g.batchStride * width
    template.write_gates = record == nil ? 0 : 1
    template.ldy = ldOutput
    (template.ldcells, template.ldprevc, template.ldprevh) = (g.batchStride * hidden, g.batchStride * hidden,
                                                              g.batchStride * hidden)

    forEachBatchChunk(g) { rows in
        let b0 = rows.lowerBound
        var step = template
        step.batch = rows.count
        step.c = c + b0 * hidden
        for s in 0 ..< g.timesteps {
            let first = g.row(b0, g.timestep(s))
            if s == 0 {
                (step.h, step.ldh) = (initialHidden + b0 * hidden, hidden)
                // A zero initial state (the usual one) contributes nothing to the
                // first step's product: skipping it saves 1/T of the recurrent work.
                let h0 = UnsafeBufferPointer(start: initialHidden + b0 * hidden, count: rows.count * hidden)
                step.zero_h = recurrentFinite && h0.allSatisfy { $0 == 0 } ? 1 : 0
            } else {
                step.zero_h = 0
                (step.h, step.ldh) = (UnsafePointer(output + g.row(b0, g.timestep(s - 1)) * outputStride), ldOutput)
            }
            step.x = input + first * inputStride
            step.gates = gates.map { $0 + first * width }
            step.y = output + first * outputStride
            if let record {
                step.cells = record + layout.cells + first * hidden
                step.previous_cells = record + layout.previousCells + first * hidden
                step.previous_hidden = record + layout.previousHidden + first * hidden
            }
            // Unit groups in ascending order on even steps and descending on odd
            // ones: a step starts with the groups the last one ended with, whose
            // weights are still in L2 when all of them are not (2 MB per layer
            // on lstm.stacked against 1 MB of L2: 1-2% there).
            withUnsafePointer(to: step) { step in
                for q in 0 ..< groups {
                    let group = s % 2 == 0 ? q : groups - 1 - q
                    if path == .avx512 {
                        fsk_lstm_forward_avx512(step, group, group + 1)
                    } else {
                        fsk_lstm_forward_avx2(step, group, group + 1)
                    }
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
    let (ldGates, ldHidden) = (g.batchStride * width, g.batchStride * hidden)
    var template = fsk_lstm_backward_step()
    template.hidden = hidden
    template.weights = UnsafePointer(packed)
    (template.ldda_next, template.ldda, template.ldgates) = (ldGates, ldGates, ldGates)
    (template.ldcells, template.ldprevc) = (ldHidden, ldHidden)
    template.lddy = g.batchStride * outputGradientStride
    (template.lddc, template.lddh_out, template.lddh_in) = (hidden, hidden, hidden)

    forEachBatchChunk(g) { rows in
        let b0 = rows.lowerBound
        var step = template
        step.batch = rows.count
        step.dc = dc + b0 * hidden
        step.dh_out = dh + b0 * hidden
        func run(_ step: fsk_lstm_backward_step) {
            withUnsafePointer(to: step) { step in
                if path == .avx512 {
                    fsk_lstm_backward_avx512(step, 0, panels)
                } else {
                    fsk_lstm_backward_avx2(step, 0, panels)
                }
            }
        }
        for s in stride(from: g.timesteps - 1, through: 0, by: -1) {
            let first = g.row(b0, g.timestep(s))
            if s == g.timesteps - 1 {   // the last step: dh arrives from h_n only
                step.da_next = nil
                step.dh_in = finalHiddenGradient + b0 * hidden
            } else {
                step.da_next = UnsafePointer(dA + g.row(b0, g.timestep(s + 1)) * width)
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
        if g.timesteps > 0 {
            step.da_next = UnsafePointer(dA + g.row(b0, g.timestep(0)) * width)
            (step.dh_in, step.dy, step.gates) = (nil, nil, nil)
            run(step)
        } else {
            (dh + b0 * hidden).update(from: finalHiddenGradient + b0 * hidden, count: rows.count * hidden)
        }
    }
}

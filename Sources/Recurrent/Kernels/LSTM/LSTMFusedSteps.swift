// The fused C steps of one LSTM direction (CFrameKernels/lstm_step_body.h)
// over a range of steps and a chunk of batch rows, with the record's rows as
// parameters, for the checkpointed forward and the recomputing backward of
// LSTMRecomputation.swift.
//
// The forward steps read the weights as `LSTMPackedDirection` packs them for
// lstmFusedForward ([W_ih, W_hh] or W_hh alone, b_ih + b_hh), packed per
// call in training as there. These repeat lstmFusedForward's and
// lstmFusedBackward's step templates and per-step pointers (and the
// backward's W_hh packing) rather than changing LSTMFusedSequence.swift: the
// bit-for-bit tests (LSTMRecomputationTests, on every kernel path) hold the
// two together, so a change to either that alters a result fails them.
//
// Legend as in LSTMSequence.swift (B, T, I, H, G = 4H; rows in the caller's layout).

internal import CFrameKernels
import FrameSequencing

/// The fused forward step of one direction, set up as `lstmFusedForward`
/// sets it up: the weights packed for the steps (`LSTMPackedDirection`:
/// [W_ih, W_hh], W_ih only when the steps multiply the input; b_ih + b_hh),
/// the step template.
struct LSTMFusedForwardSteps {
    let g: LSTMSequenceGeometry
    /// The weights as the steps read them, packed for `path` and `g`'s sizes.
    let packed: LSTMPackedDirection
    let groups: Int

    var path: GEMMKernelPath { packed.path }
    var fuseInput: Bool { packed.fusesInput }

    init(_ g: LSTMSequenceGeometry, packed: LSTMPackedDirection) {
        guard let lanes = packed.path.lstmLanes, packed.stepWeights != nil else {
            preconditionFailure("LSTMFusedForwardSteps: no fused kernel on \(packed.path)")
        }
        self.g = g
        self.packed = packed
        groups = fsk_lstm_forward_groups(g.hiddenSize, lanes)
    }

    /// Processing steps `steps` of batch rows `rows`: h before the first step
    /// at `startHidden` ([B, H]; the zero-h0 skip applies only at step 0, to
    /// `initialHidden`, the layer's h0, as in the stored path), c in `cell`
    /// ([B, H], updated in place). Writes h_t to `output`; with `gates`, reads
    /// x_t W_ih^T there (copied in from `stagedInput` first when given) unless
    /// the steps multiply the input; with `record`, writes the activated gates
    /// to `gates` and c_t, c_{t-1}, h_{t-1} to the record's rows.
    func run(rows: Range<Int>, steps: Range<Int>, input: UnsafePointer<Float>, inputStride: Int,
             initialHidden: UnsafePointer<Float>, startHidden: UnsafePointer<Float>, cell: UnsafeMutablePointer<Float>,
             output: LSTMRows, gates: LSTMRows?, stagedInput: LSTMRows?, record: LSTMRecordRows?) {
        let (hidden, width) = (g.hiddenSize, g.gateWidth)
        let b0 = rows.lowerBound
        var step = fsk_lstm_forward_step()
        step.batch = rows.count
        step.hidden = hidden
        step.inputs = fuseInput ? g.inputSize : 0
        step.ldx = g.batchStride * inputStride
        step.add_gates = fuseInput ? 0 : 1
        step.weights = UnsafePointer(packed.stepWeights!)
        step.bias = UnsafePointer(packed.bias)
        step.c = cell + b0 * hidden
        step.ldc = hidden
        step.ldgates = gates?.batchStride(g) ?? 0
        step.write_gates = record == nil ? 0 : 1
        step.ldy = output.batchStride(g)
        if let record {
            (step.ldcells, step.ldprevc, step.ldprevh) = (record.cells.batchStride(g), record.previousCells.batchStride(g),
                                                          record.previousHidden.batchStride(g))
        }
        for s in steps {
            let t = g.timestep(s)
            if s == steps.lowerBound {
                (step.h, step.ldh) = (startHidden + b0 * hidden, hidden)
                // As the stored path: only the very first step may skip a zero h0's product.
                let h0 = UnsafeBufferPointer(start: initialHidden + b0 * hidden, count: rows.count * hidden)
                step.zero_h = s == 0 && packed.recurrentFinite && h0.allSatisfy { $0 == 0 } ? 1 : 0
            } else {
                step.zero_h = 0
                (step.h, step.ldh) = (UnsafePointer(output.row(g, b0, step: s - 1)), output.batchStride(g))
            }
            step.x = input + g.row(b0, t) * inputStride
            if let stagedInput, let gates {
                for b in rows { gates.row(g, b, step: s).update(from: stagedInput.row(g, b, step: s), count: width) }
            }
            step.gates = gates?.row(g, b0, step: s)
            step.y = output.row(g, b0, step: s)
            if let record {
                step.cells = record.cells.row(g, b0, step: s)
                step.previous_cells = record.previousCells.row(g, b0, step: s)
                step.previous_hidden = record.previousHidden.row(g, b0, step: s)
            }
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
}

/// The fused backward step of one direction, set up once per call as
/// `lstmFusedBackward` sets it up: W_hh packed, the step template.
struct LSTMFusedBackwardSteps {
    let g: LSTMSequenceGeometry
    let path: GEMMKernelPath
    let panels: Int
    let packed: UnsafeMutablePointer<Float>

    init(_ g: LSTMSequenceGeometry, path: GEMMKernelPath, weights w: LSTMWeightPointers) {
        guard let lanes = path.lstmLanes else { preconditionFailure("LSTMFusedBackwardSteps: no fused kernel on \(path)") }
        self.g = g
        self.path = path
        packed = alignedFloats(fsk_lstm_backward_packed_count(g.hiddenSize, lanes))
        fsk_lstm_pack_backward(w.recurrentWeights, g.hiddenSize, lanes, packed)
        panels = fsk_lstm_backward_panels(g.hiddenSize, lanes)
    }

    func deallocate() { packed.deallocate() }

    private func template(_ rows: Range<Int>, dA: LSTMRows, hiddenGradient dh: UnsafeMutablePointer<Float>)
        -> fsk_lstm_backward_step {
        let hidden = g.hiddenSize
        var step = fsk_lstm_backward_step()
        step.batch = rows.count
        step.hidden = hidden
        step.weights = UnsafePointer(packed)
        (step.ldda_next, step.ldda) = (dA.batchStride(g), dA.batchStride(g))
        (step.lddc, step.lddh_out, step.lddh_in) = (hidden, hidden, hidden)
        step.dh_out = dh + rows.lowerBound * hidden
        return step
    }

    private func run(_ step: fsk_lstm_backward_step) {
        withUnsafePointer(to: step) { step in
            if path == .avx512 {
                fsk_lstm_backward_avx512(step, 0, panels)
            } else {
                fsk_lstm_backward_avx2(step, 0, panels)
            }
        }
    }

    /// Processing steps `steps`, latest first, of batch rows `rows`: reads the
    /// record's rows and dy; writes dA of the steps (the step after the range's
    /// last is read out of `dA`, or dh arrives from `finalHiddenGradient` at
    /// step T - 1); `cellGradient` ([B, H]) carries dc into the last step and
    /// out of the first.
    func run(rows: Range<Int>, steps: Range<Int>, gates: LSTMRows, cells: LSTMRows, previousCells: LSTMRows,
             outputGradient: UnsafePointer<Float>, outputGradientStride: Int, finalHiddenGradient: UnsafePointer<Float>,
             dA: LSTMRows, hiddenGradient dh: UnsafeMutablePointer<Float>, cellGradient dc: UnsafeMutablePointer<Float>) {
        let b0 = rows.lowerBound
        var step = template(rows, dA: dA, hiddenGradient: dh)
        step.ldgates = gates.batchStride(g)
        (step.ldcells, step.ldprevc) = (cells.batchStride(g), previousCells.batchStride(g))
        step.lddy = g.batchStride * outputGradientStride
        step.dc = dc + b0 * g.hiddenSize
        for s in steps.reversed() {
            if s == g.timesteps - 1 {   // the last step: dh arrives from h_n only
                step.da_next = nil
                step.dh_in = finalHiddenGradient + b0 * g.hiddenSize
            } else {
                step.da_next = UnsafePointer(dA.row(g, b0, step: s + 1))
                step.dh_in = nil
            }
            step.dy = outputGradient + g.row(b0, g.timestep(s)) * outputGradientStride
            step.gates = UnsafePointer(gates.row(g, b0, step: s))
            step.cells = UnsafePointer(cells.row(g, b0, step: s))
            step.previous_cells = UnsafePointer(previousCells.row(g, b0, step: s))
            step.da = dA.row(g, b0, step: s)
            run(step)
        }
    }

    /// dL/dh0 of batch rows `rows` into `hiddenGradient`: dA of the first
    /// processed step times W_hh (no element-wise part).
    func finish(rows: Range<Int>, dA: LSTMRows, finalHiddenGradient: UnsafePointer<Float>,
                hiddenGradient dh: UnsafeMutablePointer<Float>) {
        let hidden = g.hiddenSize
        guard g.timesteps > 0 else {
            return (dh + rows.lowerBound * hidden).update(from: finalHiddenGradient + rows.lowerBound * hidden,
                                                          count: rows.count * hidden)
        }
        var step = template(rows, dA: dA, hiddenGradient: dh)
        step.da_next = UnsafePointer(dA.row(g, rows.lowerBound, step: 0))
        run(step)
    }
}

// Gradient checkpointing for the ConvLSTM2D time loop: the training forward
// keeps the state (h, c) at the start of every segment of k steps instead of
// the record of every step, and backward recomputes each segment's record
// from its state, latest segment first, just before it needs it.
//
// Legend as in ConvLSTMGeometry.swift (B, T, P, F, G, KT); segments as in
// TimeSegments.swift (k steps, S = ceil(T / k) segments, K = min(k, T)).
//
// Bit for bit equal to the stored path (ConvLSTMForward/Backward.swift),
// because every number is made by the same code in the same order:
// - A segment's forward is `ConvLSTMForwardPass.run` over its steps, the code
//   the stored forward runs over all T; a row's gates, c_t and h_t depend only
//   on x_t, the state it starts from and the weights, and the first step of a
//   segment starts from the checkpoint, which is a copy of the state the
//   stored path reads at that step.
// - The backward time loop is `ConvLSTMBackwardPass.run` over each segment's
//   steps, latest first: dh and dc carry from segment to segment in the same
//   buffers, and the peephole gradients' partial sums (a fixed part per row
//   chunk) carry over all segments before they are added in part order, as
//   in one run over all T.
// - The products over frames (dM += patches^T dz; dx) visit the frames in
//   backward order in the stored path too (ConvLSTMBackward.swift), so each
//   part sums the same frames in the same order when it gets them segment by
//   segment; only the segment's dz is needed, not dz of every row.
// So what is kept from forward to backward is S - 1 states (the first is the
// initial state, which the cache holds anyway): 2 S B P F floats instead of
// 6 T B P F; backward needs a segment's record and dz (10 K B P F floats)
// instead of dz of every row (4 T B P F); the price is a second forward pass.
//
// Memory plan of one call: the checkpoints [S - 1, 2, B, P, F] (the cache's),
// one segment's record [B, K, P, 6F] and (backward) its dz [B, K, P, G], the
// forward and backward passes' per-call buffers. One `WorkerTeam` runs every
// segment, so nothing is allocated per segment or per step.

import FrameSequencing
internal import FrameSequencingRuntime

/// The state at the start of segments 1 ..< S, each [2, B, P, F] (h, then c),
/// kept by a checkpointed training forward for its backward (saved for
/// backward; immutable once made, as `ConvLSTMRecordStorage`).
final class ConvLSTMCheckpoints: Sendable {
    private let values: [Float]
    let segments: TimeSegments
    let stateCount: Int   // B * P * F

    init(_ segments: TimeSegments, stateCount: Int, values: [Float]) {
        precondition(values.count == (segments.count - 1) * 2 * stateCount, "checkpoint buffer of the wrong size")
        self.segments = segments
        self.stateCount = stateCount
        self.values = values
    }

    /// Bytes of the checkpoints.
    var byteCount: Int { values.count * MemoryLayout<Float>.stride }

    /// A buffer for the checkpoints of `segments`; its contents are unspecified.
    static func buffer(_ segments: TimeSegments, stateCount: Int) -> [Float] {
        uninitializedFloats((segments.count - 1) * 2 * stateCount)
    }

    /// Calls `body` with the checkpoints' first float (nil when S is 1), for reading only.
    func withPointer<R>(_ body: (UnsafeMutablePointer<Float>?) throws -> R) rethrows -> R {
        try values.withUnsafeBufferPointer { try body($0.baseAddress.map(UnsafeMutablePointer.init(mutating:))) }
    }
}

/// Where segment `j` starts from: the run's initial state for the first, else
/// its checkpoint in `checkpoints` ([S - 1, 2, B, P, F]; nil when S is 1).
@inline(__always)
private func checkpoint(_ j: Int, _ checkpoints: UnsafeMutablePointer<Float>?, stateCount: Int)
    -> (hidden: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>)? {
    guard j > 0 else { return nil }
    let base = checkpoints! + (j - 1) * 2 * stateCount
    return (base, base + stateCount)
}

/// One segment's record in `window` ([B, K, P, 6F]: gates, then c_t, then h_t,
/// each region sized for K steps), for the segment's processing steps `steps`.
@inline(__always)
private func segmentRecord(_ g: ConvLSTMGeometry, _ window: UnsafeMutablePointer<Float>, longest: Int,
                           steps: Range<Int>) -> ConvLSTMRecord {
    let rows = g.batch * longest * g.pixels
    let timesteps = g.reversed ? g.timesteps - steps.upperBound ..< g.timesteps - steps.lowerBound : steps
    return ConvLSTMRecord(gates: window, cells: window + rows * g.gateWidth,
                          hidden: window + rows * (g.gateWidth + g.filters), timesteps: timesteps)
}

/// Floats of a segment's record, [B, K, P, 6F].
func convLSTMSegmentRecordCount(_ g: ConvLSTMGeometry, _ segments: TimeSegments) -> Int {
    g.batch * segments.longest * g.pixels * 6 * g.filters
}

/// The training forward pass keeping checkpoints instead of the record.
///
/// Overwrites `output` (when given), `finalHidden` and `finalCell` as
/// `convLSTMForward` does, and `checkpoints` ([S - 1, 2, B, P, F], nil when S
/// is 1); `window`
/// ([B, K, P, 6F], from `convLSTMSegmentRecordCount`) is scratch.
func convLSTMCheckpointedForward(
    _ g: ConvLSTMGeometry, _ x: ConvLSTMOperands, segments: TimeSegments, output: UnsafeMutablePointer<Float>?,
    finalHidden: UnsafeMutablePointer<Float>, finalCell: UnsafeMutablePointer<Float>,
    checkpoints: UnsafeMutablePointer<Float>?, window: UnsafeMutablePointer<Float>
) {
    let pass = ConvLSTMForwardPass(g, matrix: x.matrix, training: true)
    defer { pass.deallocate() }
    let stateCount = g.batch * g.stateLength
    WorkerTeam.run(threads: pass.parts) { team in
        for j in 0 ..< segments.count {
            let steps = segments.steps(j)
            let segment = checkpoint(j, checkpoints, stateCount: stateCount)
                .map { x.startingFrom(hidden: $0.hidden, cell: $0.cell) } ?? x
            let record = segmentRecord(g, window, longest: segments.longest, steps: steps)
            pass.run(&team, steps: steps, segment, output: output, record: record, cell: nil)
            // The state after the segment: the next segment's checkpoint, or the final state.
            let next = j + 1 < segments.count ? checkpoint(j + 1, checkpoints, stateCount: stateCount)!
                                              : (hidden: finalHidden, cell: finalCell)
            team.forEach(parts: g.batch) { b in
                convLSTMCarryState(g, b, steps: steps, record: record, lengths: x.lengths,
                                   from: (segment.initialHidden, segment.initialCell), to: next)
            }
        }
    }
}

/// Backward through time from a checkpointed forward pass's `checkpoints`:
/// arguments and results as `convLSTMBackward`'s, bit for bit, with
/// `window` ([B, K, P, 6F]) and `gateGradient` ([B, K, P, G]) one segment's
/// scratch instead of every row's.
func convLSTMRecomputedBackward(
    _ g: ConvLSTMGeometry, _ x: ConvLSTMOperands, segments: TimeSegments, checkpoints: UnsafeMutablePointer<Float>?,
    window: UnsafeMutablePointer<Float>, gateGradient: UnsafeMutablePointer<Float>,
    outputGradient: UnsafePointer<Float>?, finalHiddenGradient: UnsafePointer<Float>, finalCellGradient: UnsafePointer<Float>,
    inputGradient: UnsafeMutablePointer<Float>, matrixGradient: UnsafeMutablePointer<Float>,
    peepholeGradient: UnsafeMutablePointer<Float>?,
    initialHiddenGradient dh: UnsafeMutablePointer<Float>, initialCellGradient dc: UnsafeMutablePointer<Float>
) {
    let stateCount = g.batch * g.stateLength
    dh.update(from: finalHiddenGradient, count: stateCount)
    dc.update(from: finalCellGradient, count: stateCount)
    let forward = ConvLSTMForwardPass(g, matrix: x.matrix, training: true)
    let backward = ConvLSTMBackwardPass(g, x)
    let products = ConvLSTMParameterProducts(g, x, inputGradient: inputGradient)
    defer {
        forward.deallocate()
        backward.deallocate()
        products.deallocate()
    }
    WorkerTeam.run(threads: backward.teamThreads) { team in
        for j in stride(from: segments.count - 1, through: 0, by: -1) {
            let steps = segments.steps(j)
            let segment = checkpoint(j, checkpoints, stateCount: stateCount)
                .map { x.startingFrom(hidden: $0.hidden, cell: $0.cell) } ?? x
            let record = segmentRecord(g, window, longest: segments.longest, steps: steps)
            forward.run(&team, steps: steps, segment, output: nil, record: record, cell: nil)
            backward.run(&team, steps: steps, segment, record: record, gateGradient: gateGradient,
                         outputGradient: outputGradient, hiddenGradient: dh, cellGradient: dc)
            let items = products.items(steps)
            team.forEach(parts: products.parts) { part in
                products.run(part: part, items: items, segment, record: record, gateGradient: gateGradient,
                             inputGradient: inputGradient)
            }
        }
    }
    if let peepholeGradient { backward.addPeepholeGradient(into: peepholeGradient) }
    products.addMatrixGradient(into: matrixGradient)
}

extension ConvLSTM2D {
    /// The training forward with recomputation: writes the output and final
    /// state as the stored path does, and the states at the start of segments
    /// 1 ..< S into `checkpoints` (from `ConvLSTMCheckpoints.buffer`); one
    /// segment's record is scratch, borrowed from the layer's buffer pool.
    func checkpointedForward(
        _ g: ConvLSTMGeometry, _ x: ConvLSTMOperands, segments: TimeSegments, output: UnsafeMutablePointer<Float>?,
        finalHidden: UnsafeMutablePointer<Float>, finalCell: UnsafeMutablePointer<Float>, checkpoints: inout [Float]
    ) {
        var window = buffers.take(convLSTMSegmentRecordCount(g, segments))
        window.withUnsafeMutableBufferPointer { window in
            checkpoints.withUnsafeMutableBufferPointer { states in
                convLSTMCheckpointedForward(g, x, segments: segments, output: output, finalHidden: finalHidden,
                                            finalCell: finalCell, checkpoints: states.baseAddress, window: window.baseAddress!)
            }
        }
        buffers.recycle(consume window)
    }
}

// Whole timesteps moved within padded batches, for the masking and direction
// options of the recurrent layers (MaskedSequencePlan.swift): the time loops
// only ever see sequences whose valid steps come first (lengths), so
// pre-padded sequences are shifted to the start before them and back after,
// a `go_backwards` input is read backwards, and Keras's masked outputs are
// filled in afterwards. The one place their pointers are taken.
//
// Legend: B batch, T timesteps, W floats per (b, t) row; row (b, t) starts at
// (b * T + t) * W batch-major or (t * B + b) * W time-major.

/// Rows of (B, T, W) or (T, B, W) values.
struct SequenceRows {
    let batch: Int, timesteps: Int, width: Int
    let timeMajor: Bool

    @inline(__always) func offset(_ b: Int, _ t: Int) -> Int {
        (timeMajor ? t * batch + b : b * timesteps + t) * width
    }
}

/// out(b, t) = values(b, t + shifts[b]) where that step exists, else zeros.
/// Its adjoint (the gradient's move) is the shift by `-shifts`.
func shiftedSequences(_ values: [Float], _ r: SequenceRows, shifts: [Int]) -> [Float] {
    var out = [Float](repeating: 0, count: values.count)
    values.withUnsafeBufferPointer { x in
        out.withUnsafeMutableBufferPointer { y in
            for b in 0 ..< r.batch {
                for t in 0 ..< r.timesteps where (0 ..< r.timesteps).contains(t + shifts[b]) {
                    (y.baseAddress! + r.offset(b, t)).update(from: x.baseAddress! + r.offset(b, t + shifts[b]), count: r.width)
                }
            }
        }
    }
    return out
}

/// out(b, t) = values(b, T - 1 - t); its own inverse and adjoint.
func timeReversed(_ values: [Float], _ r: SequenceRows) -> [Float] {
    var out = values
    values.withUnsafeBufferPointer { x in
        out.withUnsafeMutableBufferPointer { y in
            for b in 0 ..< r.batch {
                for t in 0 ..< r.timesteps {
                    (y.baseAddress! + r.offset(b, t)).update(from: x.baseAddress! + r.offset(b, r.timesteps - 1 - t),
                                                            count: r.width)
                }
            }
        }
    }
    return out
}

/// Keras's masked outputs on columns `columns` of every row: where sequence b
/// holds data at steps `starts[b] ..< ends[b]` (non-empty), the steps after
/// them in processing order get the last valid step's columns: t >= end gets
/// row end - 1's when processing runs forward, t < start gets row start's
/// when it runs backward. Other padded rows keep what they hold (zeros).
func fillLastValid(_ values: inout [Float], _ r: SequenceRows, starts: [Int], ends: [Int], columns: Range<Int>,
                   backward: Bool) {
    values.withUnsafeMutableBufferPointer { y in
        let base = y.baseAddress! + columns.lowerBound
        for b in 0 ..< r.batch where ends[b] > starts[b] {
            let source = base + r.offset(b, backward ? starts[b] : ends[b] - 1)
            for t in backward ? 0 ..< starts[b] : ends[b] ..< r.timesteps {
                (base + r.offset(b, t)).update(from: source, count: columns.count)
            }
        }
    }
}

/// The adjoint of `fillLastValid` for gradients: the gradient of every filled
/// row's columns is added into its source row, then set to zero.
func foldLastValid(_ gradients: inout [Float], _ r: SequenceRows, starts: [Int], ends: [Int], columns: Range<Int>,
                   backward: Bool) {
    gradients.withUnsafeMutableBufferPointer { g in
        let base = g.baseAddress! + columns.lowerBound
        for b in 0 ..< r.batch where ends[b] > starts[b] {
            let target = base + r.offset(b, backward ? starts[b] : ends[b] - 1)
            for t in backward ? 0 ..< starts[b] : ends[b] ..< r.timesteps {
                let row = base + r.offset(b, t)
                for j in 0 ..< columns.count { target[j] += row[j] }
                row.update(repeating: 0, count: columns.count)
            }
        }
    }
}

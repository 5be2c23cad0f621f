// Where the LSTM time loops read and write their per-row buffers: every
// step's rows in the caller's layout, or one segment's rows when backward
// recomputes the record (LSTMRecomputation.swift); and where a forward pass
// saves the state at each segment's start.
//
// Legend as in LSTMSequence.swift (B, T, H, G = 4H; rows in the caller's layout).

/// Rows of one per-row buffer of a time loop: row r at `base + r * stride`,
/// where r is the geometry's row of (b, t) (every step's rows), or, for a
/// buffer holding only the segment of steps from `firstStep` (backward
/// recomputing its record, LSTMRecomputation.swift), (s - firstStep) * B + b.
struct LSTMRows {
    let base: UnsafeMutablePointer<Float>
    let stride: Int
    var firstStep: Int? = nil

    /// Row (b, t) of processing step `s` (t = `g.timestep(s)`).
    @inline(__always) func row(_ g: LSTMSequenceGeometry, _ b: Int, step s: Int) -> UnsafeMutablePointer<Float> {
        base + (firstStep.map { (s - $0) * g.batch + b } ?? g.row(b, g.timestep(s))) * stride
    }

    /// Floats from row (b, t) to row (b + 1, t).
    func batchStride(_ g: LSTMSequenceGeometry) -> Int { (firstStep == nil ? g.batchStride : 1) * stride }
}

/// A record's rows: the activations the cell update writes, each one's rows
/// as `LSTMRows` (the gates are the `gates` the steps work in).
struct LSTMRecordRows {
    let cells: LSTMRows            // c_t [rows, H]
    let previousCells: LSTMRows    // c_{t-1} [rows, H]
    let previousHidden: LSTMRows   // h_{t-1} [rows, H]

    /// The rows of an `LSTMRecordLayout` buffer at `record`, every step's.
    init(_ g: LSTMSequenceGeometry, record: UnsafeMutablePointer<Float>) {
        let layout = LSTMRecordLayout(rows: g.rows, hidden: g.hiddenSize)
        cells = LSTMRows(base: record + layout.cells, stride: g.hiddenSize)
        previousCells = LSTMRows(base: record + layout.previousCells, stride: g.hiddenSize)
        previousHidden = LSTMRows(base: record + layout.previousHidden, stride: g.hiddenSize)
    }

    init(cells: LSTMRows, previousCells: LSTMRows, previousHidden: LSTMRows) {
        self.cells = cells
        self.previousCells = previousCells
        self.previousHidden = previousHidden
    }
}

/// Where a forward time loop saves the state (h, c) at the start of every
/// segment (LSTMRecomputation.swift): [S, 2, B, H], h then c per segment.
struct LSTMCheckpointRows {
    let base: UnsafeMutablePointer<Float>
    let segments: TimeSegments
    let batch: Int, hidden: Int

    /// h and c of segment `j`, [B, H] each.
    @inline(__always) func state(_ j: Int) -> (hidden: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>) {
        let start = base + j * 2 * batch * hidden
        return (start, start + batch * hidden)
    }
}

// Forward time loop of a ConvLSTM2D layer: per timestep, the fused gate
// product of ConvLSTMGeometry.swift in chunks of pixel rows, each followed at
// once (while its gates are in cache) by the gate activations and the cell
// update of those rows. With a 3 x 3 kernel the unit is a block of Winograd
// tiles inside one row of tiles (two runs of pixels): its input product, its
// Winograd recurrent product and its cell update, back to back.
//
// Legend as in ConvLSTMGeometry.swift (B, T, P, F, G, KT; row = (b, t, p)).
//
// Per row, with z the fused product (input convolution + bias + recurrent
// convolution) and the optional peepholes w_ci, w_cf, w_co at pixel p:
//   i = sigmoid(z_i + w_ci c_{t-1});  f = sigmoid(z_f + w_cf c_{t-1});  g = tanh(z_g)
//   c_t = f c_{t-1} + i g;  o = sigmoid(z_o + w_co c_t);  h_t = o tanh(c_t)
//
// Memory plan of one call: M [KT, G] packed once per part (PackedMatrixB), a
// [chunk, KT] patch buffer and (inference) a [chunk, G] gate tile per part
// (3 x 3: M's input rows, a [2R, KX + 1] patch buffer, an [OW + 2R, G] tile),
// and (inference) two [B, P, F] hidden states used in turn; the cell state is
// updated in place. Training writes the gates straight into the record. Nothing
// is allocated inside the time loop, which runs as one `WorkerTeam`: the pool is
// entered once per call, and each phase of a step hands out its parts. The
// per-call buffers are a `ConvLSTMForwardPass`, whose `run` takes any range of
// steps, so a pass recomputing the record segment by segment in backward
// (ConvLSTMRecomputation.swift) allocates nothing per segment either.

import FrameSequencing
internal import FrameSequencingRuntime

/// What backward needs from the forward pass, as pointers into the cache's
/// buffers, every one batch-major over rows (b, t, p) (saved for backward), for
/// the timesteps `timesteps` of every sequence: all of them, or one segment's
/// when backward recomputes the record segment by segment (see
/// ConvLSTMRecomputation.swift). Rows of padded steps hold zeros in `hidden`
/// and stale values elsewhere.
struct ConvLSTMRecord {
    /// [B * n * P, G]: the activated gates i, f, g, o (n = `timesteps.count`).
    let gates: UnsafeMutablePointer<Float>
    /// [B * n * P, F]: c_t.
    let cells: UnsafeMutablePointer<Float>
    /// [B * n * P, F]: h_t.
    let hidden: UnsafeMutablePointer<Float>
    /// The input timesteps held: 0 ..< T, or a segment's.
    let timesteps: Range<Int>

    /// The record's frame of (b, t), for t in `timesteps`: `g.frame(b, t)` when it holds all T.
    @inline(__always) func frame(_ b: Int, _ t: Int) -> Int { b * timesteps.count + t - timesteps.lowerBound }
}

/// The layer's inputs to one forward or backward run, as pointers.
struct ConvLSTMOperands {
    /// (B, T, H, W, C).
    let input: UnsafePointer<Float>
    /// [KT, G], see `convLSTMGateMatrix`.
    let matrix: UnsafePointer<Float>
    /// [3, P, F]: w_ci, w_cf, w_co; nil without peepholes.
    let peepholes: UnsafePointer<Float>?
    /// [B, P, F] each: the state the run starts from (the layer's initial
    /// state, or a checkpoint when a run covers one segment of the steps).
    let initialHidden: UnsafePointer<Float>, initialCell: UnsafePointer<Float>
    /// B valid lengths in 0...T, or nil for all T.
    let lengths: UnsafePointer<Int>?

    /// These operands starting from another state (a segment's checkpoint).
    func startingFrom(hidden: UnsafePointer<Float>, cell: UnsafePointer<Float>) -> ConvLSTMOperands {
        ConvLSTMOperands(input: input, matrix: matrix, peepholes: peepholes, initialHidden: hidden, initialCell: cell,
                         lengths: lengths)
    }

    /// The (h, c) valid step `t` of sequence `b` starts from: the record's
    /// previous step, or the state the run starts from when the previous
    /// valid step is not in the record (none, or one of an earlier segment).
    @inline(__always)
    func previousState(_ g: ConvLSTMGeometry, _ b: Int, _ t: Int, record: ConvLSTMRecord)
        -> (hidden: UnsafePointer<Float>, cell: UnsafePointer<Float>) {
        guard let previous = g.previous(t, length: g.length(b, lengths)), record.timesteps.contains(previous) else {
            return (initialHidden + b * g.stateLength, initialCell + b * g.stateLength)
        }
        let offset = record.frame(b, previous) * g.stateLength
        return (UnsafePointer(record.hidden + offset), UnsafePointer(record.cells + offset))
    }
}

/// Runs the layer over all T timesteps.
///
/// Overwrites `output` (when given: [B, T, P, F] in processing order, zero on
/// padded steps), `finalHidden` and `finalCell` ([B, P, F]: the state after
/// each sequence's last valid step, or the initial state when it has none), and
/// with `record` (holding all T timesteps), every buffer of the record.
func convLSTMForward(
    _ g: ConvLSTMGeometry, _ x: ConvLSTMOperands, output: UnsafeMutablePointer<Float>?,
    finalHidden: UnsafeMutablePointer<Float>, finalCell: UnsafeMutablePointer<Float>, record: ConvLSTMRecord?
) {
    let pass = ConvLSTMForwardPass(g, matrix: x.matrix, training: record != nil)
    defer { pass.deallocate() }
    let stateCount = g.batch * g.stateLength
    if record == nil {
        pass.hiddenBuffers.0.update(from: x.initialHidden, count: stateCount)
        finalCell.update(from: x.initialCell, count: stateCount)
    }
    WorkerTeam.run(threads: pass.parts) { team in
        pass.run(&team, steps: 0 ..< g.timesteps, x, output: output, record: record, cell: finalCell)
    }
    guard let record else {
        // The last h_t: in the first buffer after an even number of steps.
        finalHidden.update(from: g.timesteps % 2 == 0 ? pass.hiddenBuffers.0 : pass.hiddenBuffers.1, count: stateCount)
        return
    }
    for b in 0 ..< g.batch {
        convLSTMCarryState(g, b, steps: 0 ..< g.timesteps, record: record, lengths: x.lengths,
                           from: (x.initialHidden, x.initialCell), to: (finalHidden, finalCell))
    }
}

/// Writes sequence `b`'s state after processing steps `steps` ([P, F] each, at
/// `to` + b * P * F): the state of its last valid step among them, from
/// `record` (which holds their timesteps), or `from`'s (at `from` + b * P * F)
/// when none of them is valid.
func convLSTMCarryState(
    _ g: ConvLSTMGeometry, _ b: Int, steps: Range<Int>, record: ConvLSTMRecord, lengths: UnsafePointer<Int>?,
    from: (hidden: UnsafePointer<Float>, cell: UnsafePointer<Float>),
    to: (hidden: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>)
) {
    let offset = b * g.stateLength
    let length = g.length(b, lengths)
    if let s = steps.reversed().first(where: { g.timestep($0) < length }) {
        let frame = record.frame(b, g.timestep(s)) * g.stateLength
        (to.hidden + offset).update(from: record.hidden + frame, count: g.stateLength)
        (to.cell + offset).update(from: record.cells + frame, count: g.stateLength)
    } else {
        (to.hidden + offset).update(from: from.hidden + offset, count: g.stateLength)
        (to.cell + offset).update(from: from.cell + offset, count: g.stateLength)
    }
}

/// The forward time loop's buffers, made once per call (see the file
/// comment's memory plan) so that any number of runs over ranges of steps
/// (all of them, or segment after segment) allocate nothing.
struct ConvLSTMForwardPass {
    let g: ConvLSTMGeometry
    /// Parts each phase of a step is split into.
    let parts: Int
    let chunkRows: Int, chunksPerImage: Int
    let winograd: Winograd3x3?
    /// Patch columns of the product: KT, or KX + 1 with Winograd.
    let depth: Int
    /// Pixels of one product: a chunk, or a Winograd block's.
    let patchRows: Int
    let products: [PackedMatrixB]
    let gateTile: Int, perPart: Int
    let scratch: UnsafeMutablePointer<Float>
    /// Inference: h_{t-1} and h_t, [B, P, F] each, used in turn.
    let hiddenBuffers: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)

    init(_ g: ConvLSTMGeometry, matrix: UnsafePointer<Float>, training: Bool) {
        self.g = g
        let (gw, kt, stateCount) = (g.gateWidth, g.depth, g.batch * g.stateLength)
        chunkRows = convLSTMChunkRows(g)
        chunksPerImage = (g.pixels + chunkRows - 1) / chunkRows
        parts = min(g.batch * chunksPerImage, 2 * WorkerPool.shared.threadCount)
        // 3 x 3 kernels: per block of tiles inside one row of tiles, the input
        // product (K = KX + 1), Winograd's recurrent convolution and the cell update
        // in one go, so the block's gates stay in cache; others: one fused product
        // per chunk of pixel rows, then the cell update.
        let winograd = g.usesWinograd(.forward)
            ? Winograd3x3(height: g.state.height, width: g.state.width, inputChannels: g.filters, outputChannels: gw,
                          kernel: matrix + (g.inputPatch + 1) * gw, parts: parts)
            : nil
        self.winograd = winograd
        let depth = winograd == nil ? kt : g.inputPatch + 1
        let patchRows = winograd.map { 2 * $0.blockTiles } ?? chunkRows
        self.depth = depth
        self.patchRows = patchRows
        products = (0 ..< parts).map { _ in
            PackedMatrixB(b: matrix, ldb: gw, transposed: false, k: depth, n: gw, maximumRows: patchRows)
        }
        // Inference keeps each part's gates in a tile: a chunk's [chunk, G], or the
        // [OW + 2 R, G] that span a row block's two runs of pixels.
        gateTile = training ? 0 : winograd.map { (g.state.width + 2 * $0.blockTiles) * gw } ?? chunkRows * gw
        perPart = patchRows * depth + gateTile
        let states = training ? 0 : 2 * stateCount
        scratch = UnsafeMutablePointer<Float>.allocate(capacity: parts * perPart + states)
        hiddenBuffers = (scratch + parts * perPart, scratch + parts * perPart + (training ? 0 : stateCount))
    }

    func deallocate() { scratch.deallocate() }

    /// Runs processing steps `steps` of every sequence, as one member of a team
    /// (every member calls this with the same arguments).
    ///
    /// Training (`record`, holding the steps' timesteps): writes the record's
    /// rows of those steps; a step reads the state it starts from out of the
    /// record or, for the range's first valid step, `x`'s initial state.
    /// Inference (no record, `steps` from 0): h in ``hiddenBuffers`` (the first
    /// holding h0), c in place in `cell` (holding c0). Writes `output` (when
    /// given) at the steps' output positions.
    func run(_ team: inout WorkerTeam.Member, steps: Range<Int>, _ x: ConvLSTMOperands,
             output: UnsafeMutablePointer<Float>?, record: ConvLSTMRecord?, cell: UnsafeMutablePointer<Float>?) {
        let (f, gw, kt) = (g.filters, g.gateWidth, g.depth)
        let items = g.batch * chunksPerImage
        var hidden = (current: hiddenBuffers.0, next: hiddenBuffers.1)   // this member's own copy
        for s in steps {
            let t = g.timestep(s)
            let state = hidden
            func previousHidden(_ b: Int) -> UnsafePointer<Float> {
                record.map { x.previousState(g, b, t, record: $0).hidden } ?? UnsafePointer(state.current + b * g.stateLength)
            }
            /// The cell update of sequence b's `pixels` from their pre-activations
            /// `gates` ([pixels, G]), or on a padded step the carried state.
            func update(_ b: Int, _ pixels: Range<Int>, gates: UnsafeMutablePointer<Float>?) {
                let stateRows = b * g.stateLength + pixels.lowerBound * f      // the pixels in a [B, P, F] state
                let recordRows = (record?.frame(b, t) ?? 0) * g.pixels + pixels.lowerBound  // their first row in the record
                let y = output.map { $0 + (g.frame(b, g.outputStep(t)) * g.pixels + pixels.lowerBound) * f }
                guard let gates else {
                    // Padded step: the state is carried, the output is zero.
                    y?.update(repeating: 0, count: pixels.count * f)
                    if let record {
                        (record.hidden + recordRows * f).update(repeating: 0, count: pixels.count * f)
                    } else {
                        (state.next + stateRows).update(from: state.current + stateRows, count: pixels.count * f)
                    }
                    return
                }
                let previousCell = record.map { x.previousState(g, b, t, record: $0).cell }
                    ?? UnsafePointer(cell! + b * g.stateLength)
                let (cells, newHidden) = record.map { (($0.cells + recordRows * f), $0.hidden + recordRows * f) }
                    ?? (cell! + stateRows, state.next + stateRows)
                convLSTMCellsForward(
                    rows: pixels.count, filters: f, gates: gates, previousCell: previousCell + pixels.lowerBound * f,
                    cell: cells, hidden: newHidden, peepholes: x.peepholes.map { $0 + pixels.lowerBound * f },
                    peepholeStride: g.stateLength)
                y?.update(from: newHidden, count: pixels.count * f)
            }
            if let winograd {
                team.forEachItem(count: g.batch * winograd.rowBlocksPerImage, parts: parts) { part, item in
                    let (b, block) = item.quotientAndRemainder(dividingBy: winograd.rowBlocksPerImage)
                    let tiles = winograd.rowBlock(block)
                    let (tileRow, firstTile) = tiles.lowerBound.quotientAndRemainder(dividingBy: winograd.tilesWide)
                    let width = g.state.width
                    let columns = 2 * firstTile ..< min(width, 2 * (firstTile + tiles.count))
                    let origin = 2 * tileRow * width + columns.lowerBound               // the block's first pixel
                    // The block's pixels: one run per image row (a loop, not an array: no allocation per step).
                    let imageRows = 2 * tileRow ..< min(g.state.height, 2 * tileRow + 2)
                    func run(_ y: Int) -> Range<Int> { y * width + columns.lowerBound ..< y * width + columns.upperBound }
                    guard t < g.length(b, x.lengths) else {
                        for y in imageRows { update(b, run(y), gates: nil) }
                        return
                    }
                    // The gates: the record's frame, or this part's tile from the block's first pixel.
                    let (gates, gatesOrigin) = record.map { ($0.gates + $0.frame(b, t) * g.pixels * gw, 0) }
                        ?? (scratch + part * perPart + patchRows * depth, origin)
                    let patches = scratch + part * perPart                   // [run, KX + 1]
                    for y in imageRows {
                        let pixels = run(y)
                        convLSTMInputPatches(g, input: x.input, frame: g.frame(b, t), pixels: pixels, patches: patches)
                        let out = gates + (pixels.lowerBound - gatesOrigin) * gw
                        products[part].multiply(m: pixels.count, a: patches, lda: depth, beta: 0, c: out, ldc: gw,
                                                threaded: false)
                    }
                    winograd.accumulate(image: previousHidden(b), tiles: tiles, output: gates, outputStride: gw,
                                        outputOrigin: gatesOrigin, part: part)
                    for y in imageRows {
                        let pixels = run(y)
                        update(b, pixels, gates: gates + (pixels.lowerBound - gatesOrigin) * gw)
                    }
                }
            } else {
                team.forEachItem(count: items, parts: parts) { part, item in
                    let (b, chunk) = item.quotientAndRemainder(dividingBy: chunksPerImage)
                    let pixels = chunk * chunkRows ..< min(g.pixels, (chunk + 1) * chunkRows)
                    guard t < g.length(b, x.lengths) else { return update(b, pixels, gates: nil) }
                    let patches = scratch + part * perPart                   // [chunk, KT]
                    let gates = record.map { $0.gates + ($0.frame(b, t) * g.pixels + pixels.lowerBound) * gw }
                        ?? patches + chunkRows * kt                           // [chunk, G] tile
                    convLSTMPatches(g, input: x.input, frame: g.frame(b, t), pixels: pixels,
                                    previousHidden: previousHidden(b), patches: patches)
                    products[part].multiply(m: pixels.count, a: patches, lda: kt, beta: 0, c: gates, ldc: gw,
                                            threaded: false)
                    update(b, pixels, gates: gates)
                }
            }
            if record == nil { hidden = (hidden.next, hidden.current) }
        }
    }
}

/// One pixel's cell update: activates `gates` ([G] pre-activations i, f, g, o,
/// bias included) in place, writes `cell` = c_t and `hidden` = h_t ([F] each).
/// `cell` may be `previousCell` (updated in place). `peepholes` points at
/// w_ci of this pixel, with w_cf and w_co `peepholeStride` and twice that after.
@inline(__always)
func convLSTMCellForward(
    gates a: UnsafeMutablePointer<Float>, filters f: Int, previousCell: UnsafePointer<Float>,
    cell: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>,
    peepholes: UnsafePointer<Float>?, peepholeStride: Int
) {
    if let w = peepholes {
        let wf = w + peepholeStride
        for j in 0 ..< f {
            a[j] += w[j] * previousCell[j]
            a[f + j] += wf[j] * previousCell[j]
        }
    }
    applySigmoid(a, count: 2 * f)                 // i, f
    applyTanh(a + 2 * f, count: f)                // g
    for j in 0 ..< f { cell[j] = a[f + j] * previousCell[j] + a[j] * a[2 * f + j] }
    if let w = peepholes {
        let wo = w + 2 * peepholeStride
        for j in 0 ..< f { a[3 * f + j] += wo[j] * cell[j] }
    }
    applySigmoid(a + 3 * f, count: f)             // o
    applyTanh(from: cell, to: hidden, count: f)
    for j in 0 ..< f { hidden[j] *= a[3 * f + j] }
}

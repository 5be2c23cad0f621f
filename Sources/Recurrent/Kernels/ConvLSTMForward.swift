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
// entered once per call, and each phase of a step hands out its parts.

import FrameSequencing

/// What backward needs from the forward pass, as pointers into the cache's
/// buffers, every one batch-major over rows (b, t, p) (saved for backward).
/// Rows of padded steps hold zeros in `hidden` and stale values elsewhere.
struct ConvLSTMRecord {
    /// [B * T * P, G]: the activated gates i, f, g, o.
    let gates: UnsafeMutablePointer<Float>
    /// [B * T * P, F]: c_t.
    let cells: UnsafeMutablePointer<Float>
    /// [B * T * P, F]: h_t.
    let hidden: UnsafeMutablePointer<Float>
}

/// The layer's inputs to one forward or backward run, as pointers.
struct ConvLSTMOperands {
    /// (B, T, H, W, C).
    let input: UnsafePointer<Float>
    /// [KT, G], see `convLSTMGateMatrix`.
    let matrix: UnsafePointer<Float>
    /// [3, P, F]: w_ci, w_cf, w_co; nil without peepholes.
    let peepholes: UnsafePointer<Float>?
    /// [B, P, F] each.
    let initialHidden: UnsafePointer<Float>, initialCell: UnsafePointer<Float>
    /// B valid lengths in 0...T, or nil for all T.
    let lengths: UnsafePointer<Int>?

    /// The (h, c) valid step `t` of sequence `b` starts from: the record's
    /// previous step or the initial state.
    @inline(__always)
    func previousState(_ g: ConvLSTMGeometry, _ b: Int, _ t: Int, record: ConvLSTMRecord)
        -> (hidden: UnsafePointer<Float>, cell: UnsafePointer<Float>) {
        guard let previous = g.previous(t, length: g.length(b, lengths)) else {
            return (initialHidden + b * g.stateLength, initialCell + b * g.stateLength)
        }
        let offset = g.frame(b, previous) * g.stateLength
        return (UnsafePointer(record.hidden + offset), UnsafePointer(record.cells + offset))
    }
}

/// Runs the layer over all T timesteps.
///
/// Overwrites `output` (when given: [B, T, P, F] in processing order, zero on
/// padded steps), `finalHidden` and `finalCell` ([B, P, F]: the state after
/// each sequence's last valid step, or the initial state when it has none), and
/// with `record`, every buffer of the record.
func convLSTMForward(
    _ g: ConvLSTMGeometry, _ x: ConvLSTMOperands, output: UnsafeMutablePointer<Float>?,
    finalHidden: UnsafeMutablePointer<Float>, finalCell: UnsafeMutablePointer<Float>, record: ConvLSTMRecord?
) {
    let (f, gw, kt, stateCount) = (g.filters, g.gateWidth, g.depth, g.batch * g.stateLength)
    let chunkRows = convLSTMChunkRows(g)
    let chunksPerImage = (g.pixels + chunkRows - 1) / chunkRows
    let items = g.batch * chunksPerImage
    let parts = min(items, 2 * WorkerPool.shared.threadCount)
    // 3 x 3 kernels: per block of tiles inside one row of tiles, the input
    // product (K = KX + 1), Winograd's recurrent convolution and the cell update
    // in one go, so the block's gates stay in cache; others: one fused product
    // per chunk of pixel rows, then the cell update.
    let winograd = g.usesWinograd(.forward)
        ? Winograd3x3(height: g.state.height, width: g.state.width, inputChannels: f, outputChannels: gw,
                      kernel: x.matrix + (g.inputPatch + 1) * gw, parts: parts)
        : nil
    let depth = winograd == nil ? kt : g.inputPatch + 1                // patch columns of the product
    let patchRows = winograd.map { 2 * $0.blockTiles } ?? chunkRows    // a block's pixels, or a chunk
    let products = (0 ..< parts).map { _ in
        PackedMatrixB(b: x.matrix, ldb: gw, transposed: false, k: depth, n: gw, maximumRows: patchRows)
    }
    // Inference keeps each part's gates in a tile: a chunk's [chunk, G], or the
    // [OW + 2 R, G] that span a row block's two runs of pixels.
    let gateTile = record != nil ? 0 : winograd.map { (g.state.width + 2 * $0.blockTiles) * gw } ?? chunkRows * gw
    let perPart = patchRows * depth + gateTile
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: parts * perPart + 2 * stateCount)
    defer { scratch.deallocate() }
    // Inference: h_{t-1} and h_t in two buffers used in turn; c_t in place in finalCell.
    let hiddenBuffers = (scratch + parts * perPart, scratch + parts * perPart + stateCount)
    hiddenBuffers.0.update(from: x.initialHidden, count: stateCount)
    finalCell.update(from: x.initialCell, count: stateCount)

    // Every thread of the team runs this loop; `hidden` is each one's own copy.
    WorkerTeam.run(threads: parts) { team in
        var hidden = (current: hiddenBuffers.0, next: hiddenBuffers.1)
        for s in 0 ..< g.timesteps {
            let t = g.timestep(s)
            let state = hidden
            func previousHidden(_ b: Int) -> UnsafePointer<Float> {
                record.map { x.previousState(g, b, t, record: $0).hidden } ?? UnsafePointer(state.current + b * g.stateLength)
            }
            /// The cell update of sequence b's `pixels` from their pre-activations
            /// `gates` ([pixels, G]), or on a padded step the carried state.
            func update(_ b: Int, _ pixels: Range<Int>, gates: UnsafeMutablePointer<Float>?) {
                let stateRows = b * g.stateLength + pixels.lowerBound * f      // the pixels in a [B, P, F] state
                let recordRows = g.frame(b, t) * g.pixels + pixels.lowerBound  // their first row in the records
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
                    ?? UnsafePointer(finalCell + b * g.stateLength)
                let (cells, newHidden) = record.map { (($0.cells + recordRows * f), $0.hidden + recordRows * f) }
                    ?? (finalCell + stateRows, state.next + stateRows)
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
                    let (gates, gatesOrigin) = record.map { ($0.gates + g.frame(b, t) * g.pixels * gw, 0) }
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
                    let gates = record.map { $0.gates + (g.frame(b, t) * g.pixels + pixels.lowerBound) * gw }
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
    // The last h_t: in the first buffer after an even number of steps.
    let lastHidden = g.timesteps % 2 == 0 ? hiddenBuffers.0 : hiddenBuffers.1

    guard let record else {
        finalHidden.update(from: lastHidden, count: stateCount)
        return
    }
    for b in 0 ..< g.batch {
        let (h, c) = (finalHidden + b * g.stateLength, finalCell + b * g.stateLength)
        if let t = g.last(length: g.length(b, x.lengths)) {
            h.update(from: record.hidden + g.frame(b, t) * g.stateLength, count: g.stateLength)
            c.update(from: record.cells + g.frame(b, t) * g.stateLength, count: g.stateLength)
        } else {
            h.update(from: x.initialHidden + b * g.stateLength, count: g.stateLength)
            c.update(from: x.initialCell + b * g.stateLength, count: g.stateLength)
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

// Backward of a ConvLSTM2D layer through time, for
// L = sum(output * dOutput) + sum(h_n * dh_n) + sum(c_n * dc_n).
//
// Legend as in ConvLSTMGeometry.swift (B, T, P, F, G, KX, KR, KT; row = (b, t, p)).
//
// Per valid step, latest first, and per row (dh, dc: the gradients carried to
// h_t and c_t from later steps; tc = tanh(c_t); gates as saved):
//   dh  += dOutput_t
//   dz_o = dh tc o (1 - o)
//   dc  += dh o (1 - tc^2) + w_co dz_o
//   dz_i = dc g i (1 - i);  dz_f = dc c_{t-1} f (1 - f);  dz_g = dc i (1 - g^2)
//   dc_{t-1} = dc f + w_ci dz_i + w_cf dz_f
//   dw_ci += dz_i c_{t-1};  dw_cf += dz_f c_{t-1};  dw_co += dz_o c_t
// then, per sequence, dh_{t-1} = col2im(dz_t x recurrentKernel^T): the
// transpose of the recurrent convolution, a product and a scatter-add.
//
// dz of every row is kept ([B * T * P, G], zero on padded steps), so after the
// time loop the parameter and input gradients come from products over all
// B * T frames:
//   dM[KT, G] += patches^T x dz          (kernel, bias and recurrent kernel at once)
//   dx         = col2im(dz x kernel^T)    (the input convolution's transpose)
// The frames are visited in the order backward produces their dz (latest
// processing step first, sequences in order within a step), so that a
// backward that recomputes the record segment by segment
// (ConvLSTMRecomputation.swift) can run the same products per segment, on
// that segment's dz alone, and sum dM in the same order to the bit.
//
// Memory plan: per part, a packed recurrent kernel, a [chunk, KR] patch
// gradient, a [chunk, KT] patch buffer, a [chunk, KX] input patch gradient and
// partial sums of dM and the peephole gradients, all allocated once per call.
// Partial sums go to a fixed number of parts and are added in part order, so
// results do not depend on the thread count.

import FrameSequencing
internal import FrameSequencingRuntime

/// Parts that partial gradient sums are split into, whatever the core count.
private let reductionParts = 4

/// Runs backward through time over a forward pass's `record` (holding all T timesteps).
///
/// - `outputGradient`: [B, T, P, F] in processing order, or nil when the
///   output was the last step only (its gradient then belongs in `finalHiddenGradient`).
/// - Overwrites `gateGradient` ([B * T * P, G], dz), `inputGradient` (B, T, H, W, C) and
///   `initialHiddenGradient`, `initialCellGradient` ([B, P, F]); accumulates into
///   `matrixGradient` ([KT, G], the layout of `convLSTMGateMatrix`) and
///   `peepholeGradient` ([3, P, F], when the layer has peepholes).
func convLSTMBackward(
    _ g: ConvLSTMGeometry, _ x: ConvLSTMOperands, record: ConvLSTMRecord, gateGradient: UnsafeMutablePointer<Float>,
    outputGradient: UnsafePointer<Float>?, finalHiddenGradient: UnsafePointer<Float>, finalCellGradient: UnsafePointer<Float>,
    inputGradient: UnsafeMutablePointer<Float>, matrixGradient: UnsafeMutablePointer<Float>,
    peepholeGradient: UnsafeMutablePointer<Float>?,
    initialHiddenGradient dh: UnsafeMutablePointer<Float>, initialCellGradient dc: UnsafeMutablePointer<Float>
) {
    dh.update(from: finalHiddenGradient, count: g.batch * g.stateLength)
    dc.update(from: finalCellGradient, count: g.batch * g.stateLength)
    let pass = ConvLSTMBackwardPass(g, x)
    defer { pass.deallocate() }
    WorkerTeam.run(threads: pass.teamThreads) { team in
        pass.run(&team, steps: 0 ..< g.timesteps, x, record: record, gateGradient: gateGradient,
                 outputGradient: outputGradient, hiddenGradient: dh, cellGradient: dc)
    }
    if let peepholeGradient { pass.addPeepholeGradient(into: peepholeGradient) }
    let products = ConvLSTMParameterProducts(g, x, inputGradient: inputGradient)
    defer { products.deallocate() }
    forEachItem(count: products.parts, parts: products.parts) { part, _ in
        products.run(part: part, items: 0 ..< g.batch * g.timesteps, x, record: record, gateGradient: gateGradient,
                     inputGradient: inputGradient)
    }
    products.addMatrixGradient(into: matrixGradient)
}

/// The backward time loop's buffers, made once per call, so that any number
/// of runs over ranges of steps (all of them, or segment after segment, latest
/// first) allocate nothing; the peephole gradients' partial sums carry over
/// from run to run.
struct ConvLSTMBackwardPass {
    let g: ConvLSTMGeometry
    let chunkRows: Int, chunksPerImage: Int
    /// Parts of each phase of a step, and of the peephole gradients' partial sums.
    let parts: Int
    let perPart: Int
    let scratch: UnsafeMutablePointer<Float>
    let winograd: Winograd3x3?
    let recurrent: [PackedMatrixB]
    let hasPeepholes: Bool

    /// Threads of the team to run this in: a single sequence without Winograd
    /// instead splits each step's one product over the pool (its col2im sums
    /// overlapping rows, so parts cannot share it).
    var teamThreads: Int { g.batch == 1 && winograd == nil ? 1 : parts }

    init(_ g: ConvLSTMGeometry, _ x: ConvLSTMOperands) {
        self.g = g
        let (f, gw, kx, kr) = (g.filters, g.gateWidth, g.inputPatch, g.recurrentPatch)
        chunkRows = convLSTMChunkRows(g)
        chunksPerImage = (g.pixels + chunkRows - 1) / chunkRows
        parts = min(g.batch * chunksPerImage, reductionParts)
        hasPeepholes = x.peepholes != nil
        perPart = chunkRows * kr + f + (hasPeepholes ? 3 * g.stateLength : 0)
        scratch = UnsafeMutablePointer<Float>.allocate(capacity: parts * perPart)
        scratch.update(repeating: 0, count: parts * perPart)
        // 3 x 3: dh_{t-1} = correlate(dz_t, W'), W'[a, b, n, c] = W[2 - a, 2 - b, c, n] (the transpose
        // of a same-padded 3 x 3 convolution is one with the kernel flipped).
        let parts = parts
        winograd = g.usesWinograd(.data)
            ? convLSTMFlippedKernel(x.matrix + (kx + 1) * gw, filters: f).withUnsafeBufferPointer {
                Winograd3x3(height: g.state.height, width: g.state.width, inputChannels: gw, outputChannels: f,
                            kernel: $0.baseAddress!, parts: parts)
            }
            : nil
        // Otherwise dh_{t-1} patches = dz x recurrentKernel^T: the recurrent rows of M, transposed.
        let chunkRows = chunkRows
        recurrent = winograd != nil ? [] : (0 ..< parts).map { _ in
            PackedMatrixB(b: x.matrix + (kx + 1) * gw, ldb: gw, transposed: true, k: gw, n: kr, maximumRows: chunkRows)
        }
    }

    func deallocate() { scratch.deallocate() }

    /// Runs processing steps `steps`, latest first, as one member of a team of
    /// ``teamThreads`` (every member calls this with the same arguments).
    ///
    /// Reads `record` (holding the steps' timesteps; a step's previous state
    /// outside it is `x`'s initial state) and `outputGradient` (as
    /// `convLSTMBackward`'s); writes dz of the steps to `gateGradient`, laid out
    /// as the record's rows; replaces `hiddenGradient` and `cellGradient`
    /// ([B, P, F]: carried into the range's last step, carried out of its first);
    /// adds to the peephole gradients' partial sums.
    func run(_ team: inout WorkerTeam.Member, steps: Range<Int>, _ x: ConvLSTMOperands, record: ConvLSTMRecord,
             gateGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>?,
             hiddenGradient dh: UnsafeMutablePointer<Float>, cellGradient dc: UnsafeMutablePointer<Float>) {
        let (f, gw, kr) = (g.filters, g.gateWidth, g.recurrentPatch)
        // Per step: the cell backward of every valid row (chunks of rows over the
        // parts), then dh_{t-1} from dz_t (blocks of Winograd tiles, or per sequence
        // a product and col2im).
        for s in steps.reversed() {
            let t = g.timestep(s)
            team.forEachItem(count: g.batch * chunksPerImage, parts: parts) { part, item in
                let (b, chunk) = item.quotientAndRemainder(dividingBy: chunksPerImage)
                let pixels = chunk * chunkRows ..< min(g.pixels, (chunk + 1) * chunkRows)
                let frame = record.frame(b, t)
                let gates = record.gates + frame * g.pixels * gw             // [P, G]
                let dz = gateGradient + frame * g.pixels * gw                // [P, G]
                guard t < g.length(b, x.lengths) else {
                    (dz + pixels.lowerBound * gw).update(repeating: 0, count: pixels.count * gw)   // no gradient; carries pass
                    return
                }
                let tanhCell = scratch + part * perPart + chunkRows * kr     // [F]
                let peepholePartial = hasPeepholes ? tanhCell + f : nil      // [3, P, F]
                let previous = x.previousState(g, b, t, record: record)
                let (dhb, dcb) = (dh + b * g.stateLength, dc + b * g.stateLength)
                let dy = outputGradient.map { $0 + g.frame(b, g.outputStep(t)) * g.stateLength }
                let cells = record.cells + frame * g.stateLength
                let p = pixels.lowerBound
                convLSTMCellsBackward(
                    rows: pixels.count, filters: f, gates: gates + p * gw, gateGradient: dz + p * gw, cell: cells + p * f,
                    previousCell: previous.cell + p * f, hiddenGradient: dhb + p * f,
                    outputGradient: dy.map { $0 + p * f }, cellGradient: dcb + p * f,
                    peepholes: x.peepholes.map { $0 + p * f }, peepholeGradient: peepholePartial.map { $0 + p * f },
                    peepholeStride: g.stateLength, tanhCell: tanhCell)
            }
            // dh_{t-1} replaces dh_t, every row of which was read above.
            if let winograd {
                team.forEachItem(count: g.batch * winograd.blocksPerImage, parts: parts) { part, item in
                    let (b, block) = item.quotientAndRemainder(dividingBy: winograd.blocksPerImage)
                    guard t < g.length(b, x.lengths) else { return }
                    winograd.accumulate(image: gateGradient + record.frame(b, t) * g.pixels * gw, block: block,
                                        output: dh + b * g.stateLength, outputStride: f, part: part, overwrite: true)
                }
            } else {
                team.forEachItem(count: g.batch, parts: min(g.batch, parts)) { part, b in
                    guard t < g.length(b, x.lengths) else { return }
                    let dz = gateGradient + record.frame(b, t) * g.pixels * gw
                    let (dhb, patchGradient) = (dh + b * g.stateLength, scratch + part * perPart)   // [chunk, KR]
                    dhb.update(repeating: 0, count: g.stateLength)
                    for p0 in stride(from: 0, to: g.pixels, by: chunkRows) {
                        let pixels = p0 ..< min(g.pixels, p0 + chunkRows)
                        recurrent[part].multiply(m: pixels.count, a: dz + p0 * gw, lda: gw, beta: 0, c: patchGradient,
                                                 ldc: kr, threaded: g.batch == 1)
                        col2im(g.state, patches: patchGradient, rows: pixels, image: dhb)
                    }
                }
            }
        }
    }

    /// Adds the peephole gradients' partial sums, in part order, into `peepholeGradient` ([3, P, F]).
    func addPeepholeGradient(into peepholeGradient: UnsafeMutablePointer<Float>) {
        for part in 0 ..< parts {
            let partial = scratch + part * perPart + chunkRows * g.recurrentPatch + g.filters
            for i in 0 ..< 3 * g.stateLength { peepholeGradient[i] += partial[i] }
        }
    }
}

/// W' (3, 3, G, F) from the recurrent kernel W (3, 3, F, G): W'[a, b, n, c] = W[2 - a, 2 - b, c, n].
private func convLSTMFlippedKernel(_ w: UnsafePointer<Float>, filters f: Int) -> [Float] {
    let gw = 4 * f
    var flipped = [Float](repeating: 0, count: 9 * f * gw)
    for a in 0 ..< 3 {
        for b in 0 ..< 3 {
            let (source, target) = (w + ((2 - a) * 3 + (2 - b)) * f * gw, (a * 3 + b) * gw * f)
            for c in 0 ..< f { for n in 0 ..< gw { flipped[target + n * f + c] = source[c * gw + n] } }
        }
    }
    return flipped
}

/// The products over frames after (or, recomputing, during) the time loop
/// (see the file comment): accumulates dM into per-part partial sums and
/// writes dx frame by frame. Frames are "items" in backward order: item j is
/// sequence j % B at processing step T - 1 - j / B, and part p takes the items
/// j with j % parts == p, in ascending order, across any number of runs over
/// consecutive ranges of items. Made once per call: runs allocate nothing.
struct ConvLSTMParameterProducts {
    let g: ConvLSTMGeometry
    let chunkRows: Int
    let parts: Int
    let perPart: Int
    let scratch: UnsafeMutablePointer<Float>
    let inputProducts: [PackedMatrixB]

    /// Zeroes `inputGradient` (B, T, H, W, C): padded frames keep zero, the others are written by runs.
    init(_ g: ConvLSTMGeometry, _ x: ConvLSTMOperands, inputGradient: UnsafeMutablePointer<Float>) {
        self.g = g
        let (gw, kx, kt) = (g.gateWidth, g.inputPatch, g.depth)
        let chunkRows = min(g.pixels, max(256, convLSTMChunkRows(g)))
        self.chunkRows = chunkRows
        parts = min(g.batch * g.timesteps, reductionParts)
        perPart = kt * gw + chunkRows * (kt + kx)
        scratch = UnsafeMutablePointer<Float>.allocate(capacity: parts * perPart)
        for part in 0 ..< parts { (scratch + part * perPart).update(repeating: 0, count: kt * gw) }
        inputGradient.update(repeating: 0, count: g.batch * g.timesteps * g.input.imageLength)
        // dx patches = dz x kernel^T: the input rows of M, transposed.
        inputProducts = (0 ..< parts).map { _ in
            PackedMatrixB(b: x.matrix, ldb: gw, transposed: true, k: gw, n: kx, maximumRows: chunkRows)
        }
    }

    func deallocate() { scratch.deallocate() }

    /// The items of processing steps `steps`: a consecutive range, later steps first.
    func items(_ steps: Range<Int>) -> Range<Int> {
        (g.timesteps - steps.upperBound) * g.batch ..< (g.timesteps - steps.lowerBound) * g.batch
    }

    /// Part `part`'s items among `items`: reads `record` and `gateGradient`
    /// (dz, laid out as the record's rows), which hold the items' timesteps;
    /// writes their frames of `inputGradient`.
    func run(part: Int, items: Range<Int>, _ x: ConvLSTMOperands, record: ConvLSTMRecord,
             gateGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>) {
        let (gw, kx, kt) = (g.gateWidth, g.inputPatch, g.depth)
        let partial = scratch + part * perPart                           // [KT, G]
        let patches = partial + kt * gw                                  // [chunk, KT]
        let inputPatchGradient = patches + chunkRows * kt                // [chunk, KX]
        let first = items.lowerBound + (part - items.lowerBound % parts + parts) % parts
        for item in stride(from: first, to: items.upperBound, by: parts) {
            let b = item % g.batch
            let t = g.timestep(g.timesteps - 1 - item / g.batch)
            guard t < g.length(b, x.lengths) else { continue }           // dz is zero there
            let frame = g.frame(b, t)
            let previous = x.previousState(g, b, t, record: record)
            for p0 in stride(from: 0, to: g.pixels, by: chunkRows) {
                let pixels = p0 ..< min(g.pixels, p0 + chunkRows)
                let dz = gateGradient + (record.frame(b, t) * g.pixels + p0) * gw   // [rows, G]
                convLSTMPatches(g, input: x.input, frame: frame, pixels: pixels, previousHidden: previous.hidden,
                                patches: patches)
                gemm(transposeA: true, transposeB: false, m: kt, n: gw, k: pixels.count, a: patches, lda: kt,
                     b: dz, ldb: gw, beta: 1, c: partial, ldc: gw, threaded: parts == 1)
                inputProducts[part].multiply(m: pixels.count, a: dz, lda: gw, beta: 0, c: inputPatchGradient, ldc: kx,
                                             threaded: parts == 1)
                let first = frame * g.pixels
                col2im(g.input, patches: inputPatchGradient, rows: first + p0 ..< first + pixels.upperBound,
                       image: inputGradient)
            }
        }
    }

    /// Adds the partial sums of dM, in part order, into `matrixGradient` ([KT, G]).
    func addMatrixGradient(into matrixGradient: UnsafeMutablePointer<Float>) {
        for part in 0 ..< parts {
            let partial = scratch + part * perPart
            for i in 0 ..< g.depth * g.gateWidth { matrixGradient[i] += partial[i] }
        }
    }
}

/// Backward of one pixel's cell update (see the file comment). Reads the
/// activated `gates` ([G]) and writes dz to `gateGradient` ([G]); reads `cell` (c_t),
/// `previousCell`, `hiddenGradient` (carried dh_t) and `outputGradient`;
/// replaces `cellGradient` (dc_t in, dc_{t-1} out); accumulates the peephole
/// gradients (w_ci's at `peepholeGradient`, w_cf's and w_co's `peepholeStride`
/// and twice that after). `tanhCell` is [F] scratch.
@inline(__always)
func convLSTMCellBackward(
    gates a: UnsafePointer<Float>, gateGradient dz: UnsafeMutablePointer<Float>, filters f: Int, cell: UnsafePointer<Float>,
    previousCell: UnsafePointer<Float>, hiddenGradient: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>?,
    cellGradient dc: UnsafeMutablePointer<Float>, peepholes: UnsafePointer<Float>?,
    peepholeGradient: UnsafeMutablePointer<Float>?, peepholeStride: Int, tanhCell: UnsafeMutablePointer<Float>
) {
    applyTanh(from: cell, to: tanhCell, count: f)
    for j in 0 ..< f {
        let (i, fg, gg, o) = (a[j], a[f + j], a[2 * f + j], a[3 * f + j])
        let dh = hiddenGradient[j] + (outputGradient?[j] ?? 0)
        let tc = tanhCell[j]
        let dzo = dh * tc * o * (1 - o)
        var dcj = dc[j] + dh * o * (1 - tc * tc)
        if let w = peepholes { dcj += dzo * w[2 * peepholeStride + j] }
        let cp = previousCell[j]
        let dzi = dcj * gg * i * (1 - i)
        let dzf = dcj * cp * fg * (1 - fg)
        var previous = dcj * fg
        if let w = peepholes { previous += dzi * w[j] + dzf * w[peepholeStride + j] }
        if let dw = peepholeGradient {
            dw[j] += dzi * cp
            dw[peepholeStride + j] += dzf * cp
            dw[2 * peepholeStride + j] += dzo * cell[j]
        }
        dc[j] = previous
        dz[j] = dzi
        dz[f + j] = dzf
        dz[2 * f + j] = dcj * i * (1 - gg * gg)
        dz[3 * f + j] = dzo
    }
}

// The shapes of one ConvLSTM2D run and the one matrix its gates are computed
// with, shared by the forward and backward time loops.
//
// Legend: B batch; T timesteps; H x W x C an input frame; OH x OW the state
// grid (the input convolution's output), P = OH * OW its pixels; F filters;
// G = 4F gate columns in the order input, forget, cell, output (i, f, g, o);
// KH x KW kernel taps; KX = KH * KW * C one input patch; KR = KH * KW * F one
// state patch; KT = KX + 1 + KR one row of the gate product.
//
// Each timestep's gate pre-activations, for every (b, pixel) row, are one
// product over a concatenated patch (the "fused" gate product):
//
//   z[row, G] = [ im2col(x_t)[row, KX] | 1 | im2col(h_{t-1})[row, KR] ] x M[KT, G]
//   M = [ kernel as [KX, G] ; bias as [1, G] ; recurrentKernel as [KR, G] ]
//
// so the input convolution, the bias and the recurrent convolution are summed
// inside one matrix product, and no [rows, G] buffer of the input convolution
// is ever written. Rows of every per-timestep buffer are batch-major like the
// input: row (b, t, p) is (b * T + t) * P + p.
//
// Time: the loops index everything by the input timestep t. A reversed layer
// (Keras's go_backwards) processes t = T-1 ... 0 and writes processing step
// s = T-1-t to output position s; only the output and its gradient are in
// processing order. With lengths, timestep t of sequence b is valid when
// t < length[b]; a padded step neither reads its input nor changes the state,
// and its output is zero. The state a valid step starts from is the one left
// by the previous valid step in processing order, or the initial state.

import Foundation
import FrameSequencing
internal import FrameSequencingRuntime

/// Where a ConvLSTM2D run reads and writes, and its sizes.
struct ConvLSTMGeometry: Equatable {
    let batch: Int                    // B
    let timesteps: Int                // T
    /// The input convolution over all B * T frames (image n = b * T + t).
    let input: ConvolutionGeometry
    /// The recurrent convolution over one (OH, OW, F) state: stride 1, dilation
    /// 1, TensorFlow's `same` padding (the odd row or column after).
    let state: ConvolutionGeometry
    let reversed: Bool

    init(batch: Int, timesteps: Int, input: ConvolutionGeometry, filters: Int, reversed: Bool) {
        self.batch = batch
        self.timesteps = timesteps
        self.input = input
        self.reversed = reversed
        let (oh, ow) = (input.outputHeight, input.outputWidth)
        let rows = convolutionAxis(input: oh, kernel: input.kernelHeight, stride: 1, dilation: 1, padding: .same)
        let columns = convolutionAxis(input: ow, kernel: input.kernelWidth, stride: 1, dilation: 1, padding: .same)
        state = ConvolutionGeometry(
            batch: 1, height: oh, width: ow, channels: filters, kernelHeight: input.kernelHeight,
            kernelWidth: input.kernelWidth, strideHeight: 1, strideWidth: 1, dilationHeight: 1, dilationWidth: 1,
            padTop: rows.padBefore, padLeft: columns.padBefore, outputHeight: oh, outputWidth: ow)
    }

    var filters: Int { state.channels }                        // F
    var gateWidth: Int { 4 * state.channels }                  // G
    var pixels: Int { state.rowsPerImage }                     // P
    var inputPatch: Int { input.patchLength }                  // KX
    var recurrentPatch: Int { state.patchLength }              // KR
    var depth: Int { input.patchLength + 1 + state.patchLength }   // KT
    /// P * F: one sequence's h or c.
    var stateLength: Int { pixels * filters }
    /// B * T * P: rows of every per-timestep record.
    var rowCount: Int { batch * timesteps * pixels }

    /// Whether the recurrent convolution's `pass` runs as Winograd F(2x2, 3x3):
    /// a 3 x 3 kernel (always stride 1, dilation 1, padding 1 here), unless
    /// `FRAMESEQ_CONVLSTM_WINOGRAD` leaves the pass out.
    func usesWinograd(_ pass: ConvLSTMPass) -> Bool {
        state.kernelHeight == 3 && state.kernelWidth == 3 && ConvLSTMPass.winograd.contains(pass)
    }

    /// The input timestep processed at loop step `s`.
    @inline(__always) func timestep(_ s: Int) -> Int { reversed ? timesteps - 1 - s : s }
    /// The output position of input timestep `t` (processing order).
    @inline(__always) func outputStep(_ t: Int) -> Int { reversed ? timesteps - 1 - t : t }
    /// The frame (b, t): index into the B * T images of the input and of every record.
    @inline(__always) func frame(_ b: Int, _ t: Int) -> Int { b * timesteps + t }
    /// Valid timesteps of sequence `b`.
    @inline(__always) func length(_ b: Int, _ lengths: UnsafePointer<Int>?) -> Int { lengths?[b] ?? timesteps }

    /// The timestep whose state valid step `t` of a sequence of `length` valid
    /// steps starts from, or nil for the initial state.
    @inline(__always) func previous(_ t: Int, length: Int) -> Int? {
        reversed ? (t + 1 < length ? t + 1 : nil) : (t > 0 ? t - 1 : nil)
    }

    /// The last valid timestep processed for a sequence of `length` (its final
    /// state), or nil when it has none.
    func last(length: Int) -> Int? {
        guard length > 0 else { return nil }
        return reversed ? 0 : length - 1
    }
}

/// The three products of the recurrent convolution.
enum ConvLSTMPass: String, CaseIterable {
    /// h_{t-1} to the gates.
    case forward
    /// dz_t to dh_{t-1}.
    case data
    // The recurrent kernel's gradient stays one im2col product: as Winograd
    // (dg = G^T [sum of V ⊙ A dOut A^T] G) the 4x expansion of dOut and 16 small
    // products per block of tiles cost more than the multiplies it saves
    // (see Docs/Performance.md, "Design measurements").

    /// The passes that may run as Winograd: all of them, or those named in the
    /// environment variable `FRAMESEQ_CONVLSTM_WINOGRAD` (comma-separated, or
    /// `none`), read once. A diagnostic switch for measuring each pass against
    /// the im2col product; results agree to round-off either way.
    static let winograd: Set<ConvLSTMPass> = {
        guard let text = ProcessInfo.processInfo.environment["FRAMESEQ_CONVLSTM_WINOGRAD"] else { return Set(allCases) }
        return Set(text.split(separator: ",").compactMap { ConvLSTMPass(rawValue: $0.trimmingCharacters(in: .whitespaces)) })
    }()
}

/// The fused gate matrix M [KT, G] of the file comment: the input kernel rows,
/// the bias row, then the recurrent kernel rows.
func convLSTMGateMatrix(
    _ g: ConvLSTMGeometry, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    recurrentKernel: UnsafePointer<Float>, into matrix: UnsafeMutablePointer<Float>
) {
    let (kx, gw) = (g.inputPatch, g.gateWidth)
    matrix.update(from: kernel, count: kx * gw)
    (matrix + kx * gw).update(from: bias, count: gw)
    (matrix + (kx + 1) * gw).update(from: recurrentKernel, count: g.recurrentPatch * gw)
}

/// Writes the fused patch rows [rows, KT] (`rowStride` = KT apart) of frame
/// (b, t) for pixels `pixels`: the input patch, a 1, then the patch of
/// `previousHidden` ([P, F], the state the step starts from).
@inline(__always)
func convLSTMPatches(
    _ g: ConvLSTMGeometry, input: UnsafePointer<Float>, frame: Int, pixels: Range<Int>,
    previousHidden: UnsafePointer<Float>, patches: UnsafeMutablePointer<Float>
) {
    let (kx, kt) = (g.inputPatch, g.depth)
    let first = frame * g.pixels
    im2col(g.input, image: input, rows: first + pixels.lowerBound ..< first + pixels.upperBound,
           patches: patches, rowStride: kt)
    for r in 0 ..< pixels.count { patches[r * kt + kx] = 1 }
    im2col(g.state, image: previousHidden, rows: pixels, patches: patches + kx + 1, rowStride: kt)
}

/// Writes the input patch rows [rows, KX + 1] (`KX + 1` apart) of frame (b, t)
/// for pixels `pixels`: the input patch, then a 1 (for the bias row).
@inline(__always)
func convLSTMInputPatches(
    _ g: ConvLSTMGeometry, input: UnsafePointer<Float>, frame: Int, pixels: Range<Int>, patches: UnsafeMutablePointer<Float>
) {
    let kx = g.inputPatch
    let first = frame * g.pixels
    im2col(g.input, image: input, rows: first + pixels.lowerBound ..< first + pixels.upperBound,
           patches: patches, rowStride: kx + 1)
    for r in 0 ..< pixels.count { patches[r * (kx + 1) + kx] = 1 }
}

/// Pixel rows per gate product: about 64K patch values (L2-resident with the
/// packed copy), a multiple of 16, at least 16 and at most one state.
func convLSTMChunkRows(_ g: ConvLSTMGeometry) -> Int {
    let rows = max(16, (1 << 16) / max(g.depth, 1) / 16 * 16)
    return min(rows, g.pixels)
}

/// Calls `body(part, item)` for `count` items split round-robin over the
/// worker pool's parts (`parts` of them; item i goes to part i % parts), each
/// part on one thread at a time, so per-part scratch needs no locks and sums
/// per part are in a fixed order.
func forEachItem(count: Int, parts: Int, _ body: (_ part: Int, _ item: Int) -> Void) {
    if parts <= 1 {
        for item in 0 ..< count { body(0, item) }
        return
    }
    WorkerPool.shared.run(parts: parts) { part in
        for item in stride(from: part, to: count, by: parts) { body(part, item) }
    }
}

extension WorkerTeam.Member {
    /// ``forEachItem(count:parts:_:)`` for a time loop run by a `WorkerTeam`: the
    /// same round-robin split of items over parts, the parts handed out among the
    /// team's threads, so a step costs no pool hand-off (and no allocation).
    mutating func forEachItem(count: Int, parts: Int, _ body: (_ part: Int, _ item: Int) -> Void) {
        forEach(parts: parts) { part in
            for item in stride(from: part, to: count, by: parts) { body(part, item) }
        }
    }
}

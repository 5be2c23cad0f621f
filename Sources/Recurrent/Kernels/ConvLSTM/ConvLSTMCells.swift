// The element-wise parts of a ConvLSTM step over a run of consecutive pixels:
// the cell update forward, its gradient backward, and Winograd's tile
// transforms. On x86 with AVX2 or AVX-512 each runs as one C call
// (CFrameKernels/convlstm_body.h) in 8- or 16-lane vectors with FMA; the Swift
// per-pixel functions (4 lanes in a baseline x86-64 build) are the reference
// and the path on arm64 and with FRAMESEQ_KERNELS=swift. Equations: the file
// comments of ConvLSTMForward.swift, ConvLSTMBackward.swift and Winograd3x3.swift.

internal import CFrameKernels

/// Cell update of `rows` consecutive pixels; gates [rows, G] in place, the
/// states [rows, F]; `peepholes` at w_ci of the first pixel (see `convLSTMCellForward`).
func convLSTMCellsForward(
    rows: Int, filters f: Int, gates: UnsafeMutablePointer<Float>, previousCell: UnsafePointer<Float>,
    cell: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>, peepholes: UnsafePointer<Float>?,
    peepholeStride: Int, path: GEMMKernelPath = .active
) {
    guard path == .swift else {
        var step = fsk_convlstm_cell_forward(
            rows: rows, filters: f, gates: gates, previous_cells: previousCell, cells: cell, hidden: hidden,
            peepholes: peepholes, peephole_stride: peepholeStride)
        if path == .avx512 { fsk_convlstm_cell_forward_avx512(&step) } else { fsk_convlstm_cell_forward_avx2(&step) }
        return
    }
    for r in 0 ..< rows {
        convLSTMCellForward(
            gates: gates + r * 4 * f, filters: f, previousCell: previousCell + r * f, cell: cell + r * f,
            hidden: hidden + r * f, peepholes: peepholes.map { $0 + r * f }, peepholeStride: peepholeStride)
    }
}

/// Backward of `convLSTMCellsForward` over `rows` consecutive pixels (see
/// `convLSTMCellBackward`); `tanhCell` is [F] scratch for the Swift path.
func convLSTMCellsBackward(
    rows: Int, filters f: Int, gates: UnsafePointer<Float>, gateGradient: UnsafeMutablePointer<Float>,
    cell: UnsafePointer<Float>, previousCell: UnsafePointer<Float>, hiddenGradient: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>?, cellGradient: UnsafeMutablePointer<Float>, peepholes: UnsafePointer<Float>?,
    peepholeGradient: UnsafeMutablePointer<Float>?, peepholeStride: Int, tanhCell: UnsafeMutablePointer<Float>,
    path: GEMMKernelPath = .active
) {
    guard path == .swift else {
        var step = fsk_convlstm_cell_backward(
            rows: rows, filters: f, gates: gates, gate_gradient: gateGradient, cells: cell, previous_cells: previousCell,
            hidden_gradient: hiddenGradient, output_gradient: outputGradient, cell_gradient: cellGradient,
            peepholes: peepholes, peephole_gradient: peepholeGradient, peephole_stride: peepholeStride)
        if path == .avx512 { fsk_convlstm_cell_backward_avx512(&step) } else { fsk_convlstm_cell_backward_avx2(&step) }
        return
    }
    for r in 0 ..< rows {
        convLSTMCellBackward(
            gates: gates + r * 4 * f, gateGradient: gateGradient + r * 4 * f, filters: f, cell: cell + r * f,
            previousCell: previousCell + r * f, hiddenGradient: hiddenGradient + r * f,
            outputGradient: outputGradient.map { $0 + r * f }, cellGradient: cellGradient + r * f,
            peepholes: peepholes.map { $0 + r * f }, peepholeGradient: peepholeGradient.map { $0 + r * f },
            peepholeStride: peepholeStride, tanhCell: tanhCell)
    }
}

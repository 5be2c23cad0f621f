// Packing of GEMM operands into the panel layout the micro-kernels read.
//
// Legend: M rows of op(A) and C, N columns of op(B) and C, K the shared
// dimension; MR, NR the register block; KC the depth of one packed block.
//
// Packed A, one MR-row micro-panel after another: panel q holds rows
// q*MR ..< (q+1)*MR of the block as KC steps of MR floats (column p of the
// panel is contiguous), so the kernel broadcasts a[p*MR + i].
// Packed B, one NR-column micro-panel after another: panel q holds columns
// q*NR ..< (q+1)*NR as KC steps of NR floats (row p of the panel is contiguous),
// so the kernel loads b[p*NR ..< p*NR + NR] as vectors.
// Rows or columns past the matrix edge are zero, so edge tiles compute with
// full panels and the kernel writes only the part of C that exists.

/// A row-major matrix operand of `gemm` as the kernels see it: `op(X)[row][column]`.
struct GEMMOperand {
    /// The stored matrix's first element.
    let base: UnsafePointer<Float>
    /// Distance between stored rows, in elements.
    let leadingDimension: Int
    /// Whether the stored matrix is the transpose of the operand.
    let transposed: Bool

    /// Distance in memory between `op(X)[r][c]` and `op(X)[r + 1][c]`.
    var rowStride: Int { transposed ? 1 : leadingDimension }
    /// Distance in memory between `op(X)[r][c]` and `op(X)[r][c + 1]`.
    var columnStride: Int { transposed ? leadingDimension : 1 }
}

enum GEMMPacking {
    /// Packs micro-panels `panels` of the block `op(A)[rows, depth]` into `packed`.
    ///
    /// Overwrites `panels.count * mr * depth.count` floats starting at panel
    /// `panels.lowerBound` of `packed`; rows at or past `rows.upperBound` are zero.
    static func packA(
        _ a: GEMMOperand, rows: Range<Int>, depth: Range<Int>, mr: Int, panels: Range<Int>,
        into packed: UnsafeMutablePointer<Float>
    ) {
        pack(a, lines: rows, width: mr, panels: panels, depth: depth,
             lineStride: a.rowStride, depthStride: a.columnStride, into: packed)
    }

    /// Packs micro-panels `panels` of the block `op(B)[depth, columns]` into `packed`.
    ///
    /// Overwrites `panels.count * nr * depth.count` floats starting at panel
    /// `panels.lowerBound` of `packed`; columns at or past `columns.upperBound` are zero.
    static func packB(
        _ b: GEMMOperand, depth: Range<Int>, columns: Range<Int>, nr: Int, panels: Range<Int>,
        into packed: UnsafeMutablePointer<Float>
    ) {
        pack(b, lines: columns, width: nr, panels: panels, depth: depth,
             lineStride: b.columnStride, depthStride: b.rowStride, into: packed)
    }

    /// Writes `packed[(q * KC + p) * width + l] = X(line q * width + l, depth p)` for
    /// the micro-panels `q` in `panels` of `lines` (zero past its end), where
    /// consecutive lines are `lineStride` apart in memory and consecutive depths
    /// `depthStride` apart.
    ///
    /// Both loop orders read every source cache line whole and write every
    /// destination line whole before moving on, and keep many lines streaming at
    /// once, because the operands come from L3 or memory. On gemm.1024, packing
    /// A one whole line at a time took 2.5x as long, and packing B one panel at a
    /// time (256 rows 4 KB apart) about 15% longer.
    private static func pack(
        _ x: GEMMOperand, lines: Range<Int>, width: Int, panels: Range<Int>, depth: Range<Int>,
        lineStride: Int, depthStride: Int, into packed: UnsafeMutablePointer<Float>
    ) {
        let kc = depth.count
        let origin = x.base + (lines.lowerBound &* lineStride &+ depth.lowerBound &* depthStride)
        if lineStride == 1 {
            // Lines contiguous (B as stored; A transposed, which `gemm` reads in
            // place but on AVX2 at long strides): each depth step is one stretch
            // of memory across all panels; copy `width` floats per panel. 16
            // depth steps at a time (their source rows stay in L1), so each
            // panel receives 16 * width contiguous floats, whole cache lines, per
            // visit. (Written when dA^T was packed here: one step at a time, its
            // 14-float rows each wrote part of a line 14 KB from the last, and
            // packing took as long as the product on lstm.rows.train.)
            for p0 in stride(from: 0, to: kc, by: 16) {
                let steps = min(16, kc &- p0)
                for q in panels {
                    let first = q &* width
                    let count = min(width, lines.count &- first)
                    for p in p0 ..< p0 &+ steps {
                        let source = origin + p &* depthStride
                        let target = packed + ((q &* kc &+ p) &* width)
                        for l in 0 ..< count { target[l] = source[first &+ l] }
                        for l in count ..< width { target[l] = 0 }
                    }
                }
            }
        } else {
            // Depth contiguous (A as stored, B transposed): a transpose. Take 16
            // depth steps (one cache line) of each of the panel's lines in turn.
            for q in panels {
                let first = q &* width
                let count = min(width, lines.count &- first)
                let panel = packed + q &* kc &* width
                for p0 in stride(from: 0, to: kc, by: 16) {
                    let steps = min(16, kc &- p0)
                    for l in 0 ..< count {
                        let source = origin + ((first &+ l) &* lineStride &+ p0)
                        let target = panel + (p0 &* width &+ l)
                        for p in 0 ..< steps { target[p &* width] = source[p] }
                    }
                    for l in count ..< width {
                        let target = panel + (p0 &* width &+ l)
                        for p in 0 ..< steps { target[p &* width] = 0 }
                    }
                }
            }
        }
    }
}

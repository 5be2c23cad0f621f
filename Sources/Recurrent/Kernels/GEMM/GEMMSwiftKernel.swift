// The portable GEMM micro-kernel: Swift SIMD, for CPUs without the C kernels
// (arm64, x86 without AVX2) and as a second opinion in tests.
//
// Legend: MR x NR register block (4 x 8 here), K depth of the packed panels.
//
// C[i][j] = alpha * sum_p a[p*MR + i] * b[p*NR + j] + beta * C[i][j], the same
// contract as the C kernels (include/CFrameKernels.h).

/// One `mr x nr` tile of C from packed panels, in Swift SIMD.
enum SwiftMicroKernel {
    /// Rows per call. Four rows of 8-wide accumulators are 8 SSE registers on
    /// baseline x86-64, which leaves room for the B row and the products.
    static let mr = 4
    /// Columns per call.
    static let nr = 8

    /// Computes `alpha * A_panel * B_panel (+ beta * C)` into the `mr x nr` corner
    /// of the tile at `c`.
    ///
    /// - Parameters:
    ///   - k: depth of both panels.
    ///   - a: packed A, `k` steps of `Self.mr` floats.
    ///   - b: packed B, `k` steps of `Self.nr` floats.
    ///   - c: the tile's top-left element; rows `ldc` floats apart.
    ///   - mr, nr: the rows and columns that exist; only those are read or written.
    ///   - beta: 0 overwrites C without reading it.
    static func run(
        k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
        mr: Int, nr: Int, alpha: Float, beta: Float
    ) {
        if mr == Self.mr && nr == Self.nr {
            tile(k: k, a: a, b: b, c: c, ldc: ldc, alpha: alpha, beta: beta)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.mr * Self.nr) { buffer in
            let tile = buffer.baseAddress!
            Self.tile(k: k, a: a, b: b, c: tile, ldc: Self.nr, alpha: alpha, beta: 0)
            merge(tile, into: c, ldc: ldc, mr: mr, nr: nr, beta: beta)
        }
    }

    /// ``run(k:a:b:c:ldc:mr:nr:alpha:beta:)`` with A read in place, row-major:
    /// row `i < mr` of the tile at `a + i * lda`, step `p` at `+ p` (no row past
    /// `mr` is read).
    static func runRows(
        k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
        mr: Int, nr: Int, alpha: Float, beta: Float
    ) {
        runInPlace(k: k, a: a, rowStride: lda, step: 1, b: b, c: c, ldc: ldc, mr: mr, nr: nr, alpha: alpha, beta: beta)
    }

    /// ``run(k:a:b:c:ldc:mr:nr:alpha:beta:)`` with A read in place,
    /// column-major (a transposed operand as stored): row `i < mr`, step `p`
    /// at `a + i + p * lda`.
    static func runColumns(
        k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
        mr: Int, nr: Int, alpha: Float, beta: Float
    ) {
        runInPlace(k: k, a: a, rowStride: 1, step: lda, b: b, c: c, ldc: ldc, mr: mr, nr: nr, alpha: alpha, beta: beta)
    }

    /// A read in place: row `i < mr` at `a + i * rowStride`, successive steps
    /// `step` apart (rows past `mr` repeat row `mr - 1`, so none past it is read).
    private static func runInPlace(
        k: Int, a: UnsafePointer<Float>, rowStride: Int, step: Int, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int, mr: Int, nr: Int, alpha: Float, beta: Float
    ) {
        let rows = (a, a + min(1, mr - 1) * rowStride, a + min(2, mr - 1) * rowStride, a + min(3, mr - 1) * rowStride)
        if mr == Self.mr && nr == Self.nr {
            tile(k: k, rows: rows, step: step, b: b, c: c, ldc: ldc, alpha: alpha, beta: beta)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.mr * Self.nr) { buffer in
            let tile = buffer.baseAddress!
            Self.tile(k: k, rows: rows, step: step, b: b, c: tile, ldc: Self.nr, alpha: alpha, beta: 0)
            merge(tile, into: c, ldc: ldc, mr: mr, nr: nr, beta: beta)
        }
    }

    private static func merge(_ tile: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>, ldc: Int,
                              mr: Int, nr: Int, beta: Float) {
        for i in 0 ..< mr {
            for j in 0 ..< nr {
                let value = tile[i * Self.nr + j]
                c[i * ldc + j] = beta == 0 ? value : value + beta * c[i * ldc + j]
            }
        }
    }

    private typealias Row = SIMD8<Float>

    @inline(__always)
    private static func tile(
        k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float, beta: Float
    ) {
        tile(k: k, rows: (a, a + 1, a + 2, a + 3), step: Self.mr, b: b, c: c, ldc: ldc, alpha: alpha, beta: beta)
    }

    /// The tile with row `i` of A at `rows.i` and successive steps `step` apart:
    /// packed panels (rows adjacent, step MR), rows in place (step 1) or
    /// columns in place (rows adjacent, step lda).
    @inline(__always)
    private static func tile(
        k: Int, rows: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>),
        step: Int, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float
    ) {
        var c0 = Row(), c1 = Row(), c2 = Row(), c3 = Row()
        var (a0, a1, a2, a3) = rows
        var b = UnsafeRawPointer(b)
        for _ in 0 ..< k {
            let row = b.loadUnaligned(as: Row.self)
            c0 = fused(Row(repeating: a0.pointee), row, c0)
            c1 = fused(Row(repeating: a1.pointee), row, c1)
            c2 = fused(Row(repeating: a2.pointee), row, c2)
            c3 = fused(Row(repeating: a3.pointee), row, c3)
            a0 += step; a1 += step; a2 += step; a3 += step
            b += Self.nr * MemoryLayout<Float>.stride
        }
        store(c0, to: c, alpha: alpha, beta: beta)
        store(c1, to: c + ldc, alpha: alpha, beta: beta)
        store(c2, to: c + 2 * ldc, alpha: alpha, beta: beta)
        store(c3, to: c + 3 * ldc, alpha: alpha, beta: beta)
    }

    @inline(__always)
    private static func store(_ row: Row, to c: UnsafeMutablePointer<Float>, alpha: Float, beta: Float) {
        let raw = UnsafeMutableRawPointer(c)
        let scaled = alpha * row
        if beta == 0 {
            raw.storeBytes(of: scaled, as: Row.self)
        } else {
            raw.storeBytes(of: beta * raw.loadUnaligned(as: Row.self) + scaled, as: Row.self)
        }
    }

    /// `x * y + z`. On arm64 a fused multiply-add is one instruction; baseline
    /// x86-64 has none, and `addingProduct` there becomes a libm call per lane
    /// (20-30x slower), so x86 multiplies and adds.
    @inline(__always)
    private static func fused(_ x: Row, _ y: Row, _ z: Row) -> Row {
        #if arch(arm64)
        z.addingProduct(x, y)
        #else
        x * y + z
        #endif
    }
}

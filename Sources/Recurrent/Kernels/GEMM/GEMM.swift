// Single-precision matrix multiply on row-major buffers: the one kernel every
// dense and recurrent layer is built from.
//
// Legend: M rows of C and op(A), N columns of C and op(B), K the shared
// dimension; MR x NR one micro-kernel's register block; KC, NB, MC, NC the cache
// blocks of `GEMMBlocking`.
//
// C[M, N] = alpha * op(A)[M, K] * op(B)[K, N] + beta * C[M, N]
//
// Files: this one holds the entry point; `GEMMDriver.swift` the blocking and
// threading; `GEMMPacking.swift` the panel layout; `GEMMKernelPath.swift` the
// kernel choice and block sizes; `GEMMSwiftKernel.swift` and the CFrameKernels
// target the micro-kernels; `GEMMReference.swift` the scalar twin.

internal import CFrameKernels
import FrameSequencing
internal import FrameSequencingRuntime

/// `C = alpha * op(A) * op(B) + beta * C` on row-major Float32 buffers.
///
/// - Parameters:
///   - transposeA: `op(A) = A^T` when true; A is then stored `[K, M]`, else `[M, K]`.
///   - transposeB: `op(B) = B^T` when true; B is then stored `[N, K]`, else `[K, N]`.
///   - m, n, k: `op(A)` is `[M, K]`, `op(B)` is `[K, N]`, C is `[M, N]`.
///   - a, b: the stored matrices, rows `lda`, `ldb` elements apart (at least their
///     stored row length).
///   - c: `[M, N]`, rows `ldc >= N` elements apart; must not overlap A or B.
///   - beta: 0 overwrites C without reading it (NaN in C does not survive);
///     1 accumulates; other values scale C first.
///   - path: the micro-kernel family; `GEMMKernelPath.active` unless a test
///     forces one. Must be available on this CPU.
///   - threaded: whether products of at least `gemmThreadingThreshold` flops
///     may use `WorkerPool.shared`.
///
/// Results do not depend on the thread count: every element of C is summed in the
/// same order (K blocks in order, each by one micro-kernel call).
/// When `alpha == 0` or `k == 0`, A and B are not read. Only the `[M, N]` part
/// of C is written; the padding of rows longer than N is left alone.
///
/// - Complexity: `2 * M * N * K` flops; no allocation once the workspace cache
///   is warm.
package func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
    path: GEMMKernelPath = .active, threaded: Bool = true
) {
    precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension")
    precondition(ldc >= max(1, n), "gemm: ldc \(ldc) < n \(n)")
    precondition(lda >= max(1, transposeA ? m : k), "gemm: lda \(lda) too small")
    precondition(ldb >= max(1, transposeB ? k : n), "gemm: ldb \(ldb) too small")
    precondition(path.isAvailable, "gemm: kernel path \(path.rawValue) is not available on this CPU")
    guard m > 0 && n > 0 else { return }
    guard k > 0 && alpha != 0 else {
        scale(c, rows: m, columns: n, ldc: ldc, by: beta)
        return
    }
    let parallel = threaded && 2 * m * n * k >= gemmThreadingThreshold
    let driver = GEMMDriver(
        a: GEMMOperand(base: a, leadingDimension: lda, transposed: transposeA),
        b: GEMMOperand(base: b, leadingDimension: ldb, transposed: transposeB),
        c: c, ldc: ldc, m: m, n: n, k: k, alpha: alpha, beta: beta, path: path,
        threads: parallel ? WorkerPool.shared.threadCount : 1)
    driver.run()
}

/// Products of fewer flops run on the calling thread: below it, waking a second
/// thread costs about what it saves (see Docs/Performance.md, "Design measurements").
package let gemmThreadingThreshold = 1 << 19

/// `C = beta * C` on `[rows, columns]`; beta 0 writes zeros.
private func scale(_ c: UnsafeMutablePointer<Float>, rows: Int, columns: Int, ldc: Int, by beta: Float) {
    guard beta != 1 else { return }
    for i in 0 ..< rows {
        let row = c + i * ldc
        for j in 0 ..< columns { row[j] = beta == 0 ? 0 : beta * row[j] }
    }
}

extension GEMMKernelPath {
    /// One micro-kernel call of this path (contract: include/CFrameKernels.h).
    @inline(__always)
    func microKernel(
        k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
        mr: Int, nr: Int, alpha: Float, beta: Float
    ) {
        switch self {
        case .avx512: fsk_sgemm_avx512(k, a, b, c, ldc, mr, nr, alpha, beta)
        case .avx2: fsk_sgemm_avx2(k, a, b, c, ldc, mr, nr, alpha, beta)
        case .swift: SwiftMicroKernel.run(k: k, a: a, b: b, c: c, ldc: ldc, mr: mr, nr: nr, alpha: alpha, beta: beta)
        }
    }

    /// One micro-kernel call with A read in place, row-major (`lda` between rows);
    /// B packed as for ``microKernel(k:a:b:c:ldc:mr:nr:alpha:beta:)``.
    @inline(__always)
    func microKernelRows(
        k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
        mr: Int, nr: Int, alpha: Float, beta: Float
    ) {
        switch self {
        case .avx512: fsk_sgemm_avx512_rows(k, a, lda, b, c, ldc, mr, nr, alpha, beta)
        case .avx2: fsk_sgemm_avx2_rows(k, a, lda, b, c, ldc, mr, nr, alpha, beta)
        case .swift:
            SwiftMicroKernel.runRows(k: k, a: a, lda: lda, b: b, c: c, ldc: ldc, mr: mr, nr: nr, alpha: alpha, beta: beta)
        }
    }

    /// One micro-kernel call with A read in place, column-major (a transposed
    /// operand as stored: row i, step p at `a + i + p * lda`).
    @inline(__always)
    func microKernelColumns(
        k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
        mr: Int, nr: Int, alpha: Float, beta: Float
    ) {
        switch self {
        case .avx512: fsk_sgemm_avx512_columns(k, a, lda, b, c, ldc, mr, nr, alpha, beta)
        case .avx2: fsk_sgemm_avx2_columns(k, a, lda, b, c, ldc, mr, nr, alpha, beta)
        case .swift:
            SwiftMicroKernel.runColumns(k: k, a: a, lda: lda, b: b, c: c, ldc: ldc, mr: mr, nr: nr, alpha: alpha,
                                        beta: beta)
        }
    }

    /// One micro-kernel call with A read in place as `segments` row-major runs
    /// of `k` steps (run s of row i at `a + i * lda + s * segmentStride`), B
    /// packed for all `segments * k` steps. The Swift path adds the runs' tiles
    /// into C one after another; the C kernels sum them in registers.
    @inline(__always)
    func microKernelSegments(
        k: Int, segments: Int, segmentStride: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int, mr: Int, nr: Int, alpha: Float, beta: Float
    ) {
        switch self {
        case .avx512: fsk_sgemm_avx512_segments(k, segments, segmentStride, a, lda, b, c, ldc, mr, nr, alpha, beta)
        case .avx2: fsk_sgemm_avx2_segments(k, segments, segmentStride, a, lda, b, c, ldc, mr, nr, alpha, beta)
        case .swift:
            for s in 0 ..< segments {
                SwiftMicroKernel.runRows(k: k, a: a + s * segmentStride, lda: lda, b: b + s * k * SwiftMicroKernel.nr,
                                         c: c, ldc: ldc, mr: mr, nr: nr, alpha: alpha, beta: s == 0 ? beta : 1)
            }
        }
    }
}

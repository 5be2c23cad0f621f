// Products with one right-hand matrix packed once: the recurrent step of an
// LSTM multiplies a small [B, H] state by the same weights at every timestep,
// and packing those weights per call costs more than the multiply itself.
//
// Legend: M rows of A and C (the batch), N columns of op(B) and C, K the shared
// dimension; MR x NR the micro-kernel's register block; KC a depth block.
//
// C[M, N] = op(A)[M, K] * op(B)[K, N] + beta * C[M, N], with op(B) packed at
// init into every (depth block, NR-column panel), the layout `gemm` packs into.

internal import CFrameKernels
import FrameSequencing
internal import FrameSequencingRuntime

/// `op(B)` packed once for many products (see the file comment). Holds its own
/// 64-byte-aligned storage and a scratch buffer for packing A of up to
/// `maximumRows` rows, so a product allocates nothing. Not for use from two
/// threads at once.
package final class PackedMatrixB {
    // Not Sendable (raw pointers, and the A-packing scratch is mutable): every
    // owner (an LSTM sequence kernel, a convolution pass, one Winograd part)
    // makes its own inside one call and never runs two products at once; a
    // product packs A on the calling thread before its pool parts start, and
    // the parts, reached through `WorkerPool.run`'s non-Sendable closure, only read.
    let k: Int, n: Int
    let path: GEMMKernelPath
    let blocking: GEMMBlocking
    let maximumRows: Int
    /// The depth blocks: K in equal chunks of at most KC.
    let depthBlocks: [Range<Int>]
    let panels: Int
    let packed: UnsafeMutablePointer<Float>      // per depth block: [panels][kc][NR]
    private let packedA: UnsafeMutablePointer<Float>     // [ceil(M/MR)][K][MR], per depth block
    private let panelsA: Int

    /// Packs `op(B)` ([K, N]; stored [N, K] when `transposed`) for products with
    /// up to `maximumRows` rows of A.
    /// `wholeDepth`: one depth block of all K (for ``multiplySegments``), not blocks of at most KC.
    package init(b: UnsafePointer<Float>, ldb: Int, transposed: Bool, k: Int, n: Int, maximumRows: Int,
                 path: GEMMKernelPath = .active, wholeDepth: Bool = false) {
        precondition(k > 0 && n > 0 && maximumRows > 0, "PackedMatrixB: empty matrix")
        self.k = k
        self.n = n
        self.path = path
        self.blocking = path.blocking
        self.maximumRows = maximumRows
        let count = wholeDepth ? 1 : (k + blocking.kc - 1) / blocking.kc
        depthBlocks = (0 ..< count).map { chunk($0, of: count, count: k) }
        panels = (n + blocking.nr - 1) / blocking.nr
        panelsA = (maximumRows + blocking.mr - 1) / blocking.mr
        packed = alignedFloats(panels * blocking.nr * k)
        packedA = alignedFloats(panelsA * blocking.mr * k)
        let operand = GEMMOperand(base: b, leadingDimension: ldb, transposed: transposed)
        for depth in depthBlocks {
            GEMMPacking.packB(operand, depth: depth, columns: 0 ..< n, nr: blocking.nr, panels: 0 ..< panels,
                              into: packed + depth.lowerBound * panels * blocking.nr)
        }
    }

    deinit {
        packed.deallocate()
        packedA.deallocate()
    }

    /// `C = op(A) * op(B) + beta * C` for `m <= maximumRows` rows (beta 0
    /// overwrites C without reading it, 1 accumulates). Splits N over the worker
    /// pool when the product is large enough; never allocates.
    package func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false, beta: Float,
                          c: UnsafeMutablePointer<Float>, ldc: Int, threaded: Bool = true) {
        precondition(m >= 0 && m <= maximumRows, "PackedMatrixB: \(m) rows, packed for \(maximumRows)")
        guard m > 0 else { return }
        let (mr, nr) = (blocking.mr, blocking.nr)
        let rowPanels = (m + mr - 1) / mr
        let operand = GEMMOperand(base: a, leadingDimension: lda, transposed: transposeA)
        for depth in depthBlocks {
            GEMMPacking.packA(operand, rows: 0 ..< m, depth: depth, mr: mr, panels: 0 ..< rowPanels,
                              into: packedA + depth.lowerBound * panelsA * mr)
        }
        let threads = threaded && 2 * m * n * k >= gemmThreadingThreshold ? WorkerPool.shared.threadCount : 1
        let parts = min(panels, threads * 2)
        // Part p: a contiguous run of B panels, through every depth block in order,
        // so each C element is summed in the same order whatever the thread count.
        // (A local function, not a closure in a `let`: that context was a heap
        // allocation per product, one per timestep in the recurrent loops.)
        func body(_ part: Int) {
            for depth in self.depthBlocks {
                let kc = depth.count
                let panelB = self.packed + depth.lowerBound * self.panels * nr
                let panelA = self.packedA + depth.lowerBound * self.panelsA * mr
                let partBeta = depth.lowerBound == 0 ? beta : 1
                for jp in chunk(part, of: parts, count: self.panels) {
                    for ip in 0 ..< rowPanels {
                        self.path.microKernel(
                            k: kc, a: panelA + ip * mr * kc, b: panelB + jp * nr * kc,
                            c: c + (ip * mr * ldc + jp * nr), ldc: ldc,
                            mr: min(mr, m - ip * mr), nr: min(nr, self.n - jp * nr), alpha: 1, beta: partBeta)
                    }
                }
            }
        }
        if parts <= 1 { body(0) } else { WorkerPool.shared.run(parts: parts, body) }
    }
}

extension PackedMatrixB {
    /// `C = A * op(B) + beta * C` for `m` rows of a row-major `A` read in place
    /// (`lda` between rows), without packing it: for an operand produced row by
    /// row and used once, such as a convolution's patches, packing would be a
    /// second pass over memory. Any `m`; uses no scratch, so several threads may
    /// call it at once (each with its own rows of C). Runs on the calling thread.
    ///
    /// Per MR rows of A, every depth block and every column panel in turn: the
    /// rows (MR x K) stay in L1 and packed B (K x N) in L2.
    package func multiplyInPlace(m: Int, a: UnsafePointer<Float>, lda: Int, beta: Float,
                                 c: UnsafeMutablePointer<Float>, ldc: Int) {
        let (mr, nr) = (blocking.mr, blocking.nr)
        for i in stride(from: 0, to: m, by: mr) {
            for depth in depthBlocks {
                let kc = depth.count
                let panelB = packed + depth.lowerBound * panels * nr
                let partBeta = depth.lowerBound == 0 ? beta : 1
                for jp in 0 ..< panels {
                    path.microKernelRows(
                        k: kc, a: a + (i * lda + depth.lowerBound), lda: lda, b: panelB + jp * nr * kc,
                        c: c + (i * ldc + jp * nr), ldc: ldc,
                        mr: min(mr, m - i), nr: min(nr, n - jp * nr), alpha: 1, beta: partBeta)
                }
            }
        }
    }
}

extension PackedMatrixB {
    /// `C = A * B + beta * C` for `m` rows of an A read in place as `segments`
    /// runs of `k / segments` values: row i, depth s * (k / segments) + p at
    /// `a + i * lda + s * segmentStride + p`. A stride-1 convolution's kernel
    /// rows are the runs (ConvolutionDirect.swift), so each tile of C is summed
    /// over the whole kernel in registers and stored once (on the C paths). B
    /// packed with `wholeDepth`. Runs on the calling thread; no scratch.
    func multiplySegments(m: Int, a: UnsafePointer<Float>, lda: Int, segments: Int, segmentStride: Int, beta: Float,
                          c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(depthBlocks.count == 1 && k % segments == 0,
                     "PackedMatrixB.multiplySegments: needs one depth block and whole runs")
        let (mr, nr) = (blocking.mr, blocking.nr)
        for i in stride(from: 0, to: m, by: mr) {
            for jp in 0 ..< panels {
                path.microKernelSegments(
                    k: k / segments, segments: segments, segmentStride: segmentStride, a: a + i * lda, lda: lda,
                    b: packed + jp * nr * k, c: c + (i * ldc + jp * nr), ldc: ldc, mr: min(mr, m - i),
                    nr: min(nr, n - jp * nr), alpha: 1, beta: beta)
            }
        }
    }

    /// ``multiplyInPlace(m:a:lda:beta:c:ldc:)`` with the rows split over the
    /// worker pool (in MR-row blocks, a few parts per thread so a thread that is
    /// held up is caught up by the other) when the product is large enough.
    /// Each element of C is computed by one micro-kernel call whatever the split.
    ///
    /// For a thin A (depth within one KC block) this beats `gemm`, which would
    /// pack all of A first: at K = 84 the packing of A took as long as its product.
    package func multiplyInPlaceThreaded(m: Int, a: UnsafePointer<Float>, lda: Int, beta: Float,
                                         c: UnsafeMutablePointer<Float>, ldc: Int) {
        let mr = blocking.mr
        let blocks = (m + mr - 1) / mr
        let threads = 2 * m * n * k >= gemmThreadingThreshold ? WorkerPool.shared.threadCount : 1
        let parts = min(blocks, threads == 1 ? 1 : 4 * threads)
        guard parts > 1 else { return multiplyInPlace(m: m, a: a, lda: lda, beta: beta, c: c, ldc: ldc) }
        WorkerPool.shared.run(parts: parts) { part in
            let range = chunk(part, of: parts, count: blocks)
            let first = range.lowerBound * mr
            multiplyInPlace(m: min(m, range.upperBound * mr) - first, a: a + first * lda, lda: lda, beta: beta,
                            c: c + first * ldc, ldc: ldc)
        }
    }
}

extension PackedMatrixB {
    /// ``multiplyInPlace(m:a:lda:beta:c:ldc:)`` for a large packed B (more
    /// than an L2 cache), cache-blocked like `gemm`'s driver but with B packed
    /// once and A read in place, so nothing is packed per call and no scratch
    /// is used (several threads may call it at once, each with its own C).
    /// Parts are (column group of `nb` columns, run of MR-row blocks): per
    /// depth block, the group's `kc x nb` of B stays in L2 while the part's
    /// rows of A (one MR-row block at a time, in L1) pass over it. About 4
    /// parts per thread, so a thread held up by another process is caught up
    /// by the other. Each element of C is summed in the same order whatever
    /// the split.
    package func multiplyInPlaceBlocked(m: Int, a: UnsafePointer<Float>, lda: Int, beta: Float,
                                        c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0 else { return }
        let (mr, nr) = (blocking.mr, blocking.nr)
        let groupPanels = blocking.nb / nr
        let groups = (panels + groupPanels - 1) / groupPanels
        let rowBlocks = (m + mr - 1) / mr
        let threads = 2 * m * n * k >= gemmThreadingThreshold ? WorkerPool.shared.threadCount : 1
        let rowRuns = threads == 1 ? 1 : min(rowBlocks, max(1, (4 * threads + groups - 1) / groups))
        func body(_ part: Int) {
            let group = part / rowRuns
            let columnPanels = group * groupPanels ..< min(panels, (group + 1) * groupPanels)
            let rows = chunk(part % rowRuns, of: rowRuns, count: rowBlocks)
            for depth in depthBlocks {
                let kc = depth.count
                let panelB = packed + depth.lowerBound * panels * nr
                let partBeta = depth.lowerBound == 0 ? beta : 1
                for block in rows {
                    let i = block * mr
                    for jp in columnPanels {
                        path.microKernelRows(
                            k: kc, a: a + (i * lda + depth.lowerBound), lda: lda, b: panelB + jp * nr * kc,
                            c: c + (i * ldc + jp * nr), ldc: ldc,
                            mr: min(mr, m - i), nr: min(nr, n - jp * nr), alpha: 1, beta: partBeta)
                    }
                }
            }
        }
        if threads <= 1 || groups * rowRuns <= 1 {
            for part in 0 ..< groups * rowRuns { body(part) }
        } else {
            WorkerPool.shared.run(parts: groups * rowRuns, body)
        }
    }
}

/// `count` floats (at least 16) aligned to 64 bytes, as the kernels' packed panels need.
func alignedFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer.allocate(byteCount: max(count, 16) * MemoryLayout<Float>.stride, alignment: 64)
        .bindMemory(to: Float.self, capacity: max(count, 16))
}

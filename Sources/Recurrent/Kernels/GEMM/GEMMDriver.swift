// The blocking and threading loops of `gemm`.
//
// Legend: M rows of C and op(A), N columns of C and op(B), K the shared
// dimension; MR x NR one micro-kernel's register block; KC, NB, MC, NC the cache
// blocks of `GEMMBlocking`.
//
// Loop structure (BLIS-style, with the roles of the L1 and L2 operands swapped
// because the kernels vectorize along N):
//
//   for each M block of MC, N block of NC, K block of KC       (a step; K in order)
//     pack A[MC, KC] (unless A is transposed: then read in place)
//     and B[KC, NC], shared by all threads                     (pool run 1)
//     for each part = (group of A micro-panels, NB columns)    (pool run 2)
//       for each A micro-panel [MR, KC]                         (stays in L1)
//         for each B micro-panel [KC, NR] of the NB columns    (streams from L2)
//           micro-kernel: C[MR, NR] (+)= A panel * B panel     (beta: first K block)
//
// Tried and dropped (see Docs/Performance.md, "Design measurements"): packing every K block up front so that
// parts keep their C tiles in L2 across K (the packed blocks no longer stay in
// cache), and packing step s + 1 during the multiply of step s (packing on a
// core evicts the B block its kernel is using).

import FrameSequencing
internal import FrameSequencingRuntime

/// One `gemm` call's blocking loops.
struct GEMMDriver {
    let a: GEMMOperand, b: GEMMOperand
    /// `[M, N]`, rows `ldc` apart.
    let c: UnsafeMutablePointer<Float>
    let ldc: Int
    let m: Int, n: Int, k: Int
    let alpha: Float, beta: Float
    let path: GEMMKernelPath
    /// 1: everything on the calling thread; more: parts on `WorkerPool.shared`.
    let threads: Int

    /// A transposed A (rows of op(A) contiguous, as dA^T of a weight gradient)
    /// is read in place: each MR x KC block is MR consecutive floats per depth
    /// step, which the kernels broadcast from as well as from a packed panel, so
    /// packing it would only copy it. On lstm.stacked.train (AVX-512) packing
    /// dA^T was 9% of the time. Except on AVX2 past a row stride of
    /// `path.transposedAInPlaceStride` (see there).
    var readsAInPlace: Bool { a.transposed && a.leadingDimension <= path.transposedAInPlaceStride }

    func run() {
        let blocking = path.blocking
        // K in equal blocks of at most KC, so no block is a thin remainder.
        let depthBlocks = (k + blocking.kc - 1) / blocking.kc
        let kcMax = (k + depthBlocks - 1) / depthBlocks
        let mcMax = min(roundUp(m, blocking.mr), blocking.mc)
        let ncMax = min(roundUp(n, blocking.nr), blocking.nc)
        GEMMWorkspace.withWorkspace(a: mcMax * kcMax, b: ncMax * kcMax) { workspace in
            for i0 in stride(from: 0, to: m, by: blocking.mc) {
                for j0 in stride(from: 0, to: n, by: blocking.nc) {
                    for depthBlock in 0 ..< depthBlocks {
                        let step = Step(
                            rows: i0 ..< min(m, i0 + blocking.mc), columns: j0 ..< min(n, j0 + blocking.nc),
                            depth: chunk(depthBlock, of: depthBlocks, count: k),
                            packedA: workspace.packedA, packedB: workspace.packedB)
                        let pack = PackParts(step, blocking: blocking, threads: threads, packsA: !readsAInPlace)
                        parallel(pack.count) { pack.run($0, a: a, b: b) }
                        let multiply = MultiplyParts(step, blocking: blocking, threads: threads)
                        parallel(multiply.count) { multiply.run($0, driver: self) }
                    }
                }
            }
        }
    }

    private func parallel(_ parts: Int, _ body: (Int) -> Void) {
        if threads > 1 {
            WorkerPool.shared.run(parts: parts, body)
        } else {
            for part in 0 ..< parts { body(part) }
        }
    }

    /// One (MC, NC, KC) block and where it is packed.
    struct Step {
        let rows: Range<Int>, columns: Range<Int>, depth: Range<Int>
        /// Packed A: `[panelsA][KC][MR]`; packed B: `[panelsB][KC][NR]`.
        let packedA: UnsafeMutablePointer<Float>, packedB: UnsafeMutablePointer<Float>
    }

    /// The pack parts of a step: A's micro-panels in `threads` chunks, then B's.
    struct PackParts {
        let step: Step
        let mr: Int, nr: Int
        let panelsA: Int, panelsB: Int
        let chunksA: Int, chunksB: Int
        var count: Int { chunksA + chunksB }

        init(_ step: Step, blocking: GEMMBlocking, threads: Int, packsA: Bool) {
            self.step = step
            (mr, nr) = (blocking.mr, blocking.nr)
            panelsA = (step.rows.count + mr - 1) / mr
            panelsB = (step.columns.count + nr - 1) / nr
            (chunksA, chunksB) = (packsA ? min(threads, panelsA) : 0, min(threads, panelsB))
        }

        func run(_ part: Int, a: GEMMOperand, b: GEMMOperand) {
            if part < chunksA {
                GEMMPacking.packA(a, rows: step.rows, depth: step.depth, mr: mr,
                                  panels: chunk(part, of: chunksA, count: panelsA), into: step.packedA)
            } else {
                GEMMPacking.packB(b, depth: step.depth, columns: step.columns, nr: nr,
                                  panels: chunk(part - chunksA, of: chunksB, count: panelsB), into: step.packedB)
            }
        }
    }

    /// The multiply parts of a step: (row group, column group) with NB columns of
    /// packed B per column group (one L2 working set). With threads, rows are
    /// split into about 32 parts per thread (a few A micro-panels each): the pool
    /// hands them out as threads free up, so the threads finish within a small
    /// part of each other even when one core runs slower for a while (8 parts
    /// per thread was 2-6% slower on gemm.1024).
    struct MultiplyParts {
        let step: Step
        let mr: Int, nr: Int
        let panelsA: Int, panelsB: Int
        let panelsPerColumnGroup: Int
        let rowGroups: Int, columnGroups: Int
        var count: Int { rowGroups * columnGroups }

        init(_ step: Step, blocking: GEMMBlocking, threads: Int) {
            self.step = step
            (mr, nr) = (blocking.mr, blocking.nr)
            panelsA = (step.rows.count + mr - 1) / mr
            panelsB = (step.columns.count + nr - 1) / nr
            panelsPerColumnGroup = blocking.nb / nr
            columnGroups = (panelsB + panelsPerColumnGroup - 1) / panelsPerColumnGroup
            let wanted = (32 * threads + columnGroups - 1) / columnGroups
            rowGroups = threads == 1 ? 1 : min(panelsA, wanted)
        }

        func run(_ part: Int, driver: GEMMDriver) {
            let (rows, columns, kc) = (step.rows, step.columns, step.depth.count)
            let beta = step.depth.lowerBound == 0 ? driver.beta : 1
            let rowPanels = chunk(part % rowGroups, of: rowGroups, count: panelsA)
            let groupStart = (part / rowGroups) * panelsPerColumnGroup
            let columnPanels = groupStart ..< min(panelsB, groupStart + panelsPerColumnGroup)
            let inPlace = driver.readsAInPlace
            let a = driver.a
            for ip in rowPanels {
                let i = ip * mr
                let panelA = step.packedA + ip * mr * kc
                let columnsA = a.base + (rows.lowerBound + i + step.depth.lowerBound * a.leadingDimension)
                for jp in columnPanels {
                    let j = jp * nr
                    let c = driver.c + ((rows.lowerBound + i) * driver.ldc + columns.lowerBound + j)
                    let (tileRows, tileColumns) = (min(mr, rows.count - i), min(nr, columns.count - j))
                    if inPlace {
                        driver.path.microKernelColumns(
                            k: kc, a: columnsA, lda: a.leadingDimension, b: step.packedB + jp * nr * kc, c: c,
                            ldc: driver.ldc, mr: tileRows, nr: tileColumns, alpha: driver.alpha, beta: beta)
                    } else {
                        driver.path.microKernel(
                            k: kc, a: panelA, b: step.packedB + jp * nr * kc, c: c, ldc: driver.ldc,
                            mr: tileRows, nr: tileColumns, alpha: driver.alpha, beta: beta)
                    }
                }
            }
        }
    }
}

/// Part `index` of `0 ..< count` split into `parts` near-equal contiguous ranges.
func chunk(_ index: Int, of parts: Int, count: Int) -> Range<Int> {
    (index * count / parts) ..< ((index + 1) * count / parts)
}

private func roundUp(_ value: Int, _ multiple: Int) -> Int {
    (value + multiple - 1) / multiple * multiple
}

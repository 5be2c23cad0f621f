import CFrameKernels
import FrameSequencing
import FrameSequencingRuntime
import Recurrent

/// `gemm.*` workloads of `../shared/BENCHMARKS.md`.
enum GEMMWorkloads {
    /// C = A x B with A, B, C all 1024 x 1024, row-major, beta 0, values in [-0.5, 0.5).
    static func square1024() -> Workload {
        let size = 1024
        return Workload(
            name: "gemm.1024", flops: 2 * Double(size * size * size), kernels: GEMMKernelPath.active.rawValue
        ) {
            var generator = SeededGenerator(seed: 0)
            let a = (0 ..< size * size).map { _ in generator.nextUnitFloat() - 0.5 }
            let b = (0 ..< size * size).map { _ in generator.nextUnitFloat() - 0.5 }
            var c = [Float](repeating: 0, count: size * size)
            return {
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        c.withUnsafeMutableBufferPointer { c in
                            gemm(transposeA: false, transposeB: false, m: size, n: size, k: size,
                                 a: a.baseAddress!, lda: size, b: b.baseAddress!, ldb: size,
                                 beta: 0, c: c.baseAddress!, ldc: size)
                        }
                    }
                }
            }
        }
    }

    /// The machine's ceiling, not a package workload: every pool thread runs
    /// register-only vector FMAs (`fsk_fma_peak_*`), so the GFLOP/s of the other
    /// workloads can be read as a share of what the cores can do at all. Only on
    /// the C kernel paths (x86-64).
    static func fmaPeak() -> [Workload] {
        let path = GEMMKernelPath.active
        guard path == .avx512 || path == .avx2 else { return [] }
        let (lanes, steps, threads) = (path == .avx512 ? 16 : 8, 4_000_000, WorkerPool.shared.threadCount)
        let flops = Double(threads * steps * 12 * lanes * 2)
        return [Workload(name: "machine.fma-peak", flops: flops, kernels: path.rawValue) {
            return {
                WorkerPool.shared.run(parts: threads) { _ in
                    _ = path == .avx512 ? fsk_fma_peak_avx512(steps) : fsk_fma_peak_avx2(steps)
                }
            }
        }]
    }
}

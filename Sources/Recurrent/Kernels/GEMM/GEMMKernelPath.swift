// Which GEMM micro-kernel runs, and the cache blocking that goes with it.
//
// Legend: M rows of C (and of op(A)), N columns of C (and of op(B)), K the shared
// dimension; MR x NR the register block of one micro-kernel call; KC the depth of
// one packed block; NB the columns of packed B one worker keeps in its L2 cache;
// MC x KC and KC x NC the L3-resident shared blocks of packed A and B.

internal import CFrameKernels
import Foundation

/// A family of GEMM micro-kernels.
///
/// The process picks one at startup (`active`): the widest the CPU supports, or
/// the one named by the environment variable `FRAMESEQ_KERNELS=swift|avx2|avx512`.
/// Tests pass a path explicitly to `gemm(...)` to exercise each one.
package enum GEMMKernelPath: String, CaseIterable, Sendable {
    /// Portable Swift SIMD kernel: the reference fast path and the one used on arm64.
    case swift
    /// C kernel, 6 x 16 register block in ymm registers (AVX2 + FMA).
    case avx2
    /// C kernel, 14 x 32 register block in zmm registers (AVX-512F).
    case avx512

    /// The path every `gemm` call uses unless told otherwise. Read once.
    ///
    /// `FRAMESEQ_KERNELS` may name a path; a path this CPU cannot run, or an unknown
    /// name, falls back to the best available one with a note on standard error.
    package static let active: GEMMKernelPath = {
        let best = available.last ?? .swift
        guard let requested = ProcessInfo.processInfo.environment["FRAMESEQ_KERNELS"], !requested.isEmpty else {
            return best
        }
        guard let path = GEMMKernelPath(rawValue: requested.lowercased()) else {
            warn("FRAMESEQ_KERNELS=\(requested) is not one of swift, avx2, avx512; using \(best.rawValue).")
            return best
        }
        guard path.isAvailable else {
            warn("FRAMESEQ_KERNELS=\(requested) needs CPU features this machine lacks; using \(best.rawValue).")
            return best
        }
        return path
    }()

    /// The paths this CPU can run, narrowest first (`swift` is always available).
    package static let available: [GEMMKernelPath] = allCases.filter(\.isAvailable)

    /// Whether this CPU (and OS) can run the path.
    package var isAvailable: Bool {
        switch self {
        case .swift: true
        case .avx2: Self.cpuLevel >= 1
        case .avx512: Self.cpuLevel >= 2
        }
    }

    private static let cpuLevel = Int(fsk_cpu_level())

    private static func warn(_ message: String) {
        FileHandle.standardError.write(Data("frameseq: \(message)\n".utf8))
    }

    /// Register and cache blocks of the path (see `GEMMBlocking`).
    var blocking: GEMMBlocking {
        switch self {
        case .avx512:
            GEMMBlocking(mr: Int(FSK_AVX512_MR), nr: Int(FSK_AVX512_NR), kc: 256, nb: 512, mc: 4096, nc: 4096)
        case .avx2:
            // NB from this core's L2: AVX2 CPUs have from 256 KB (Intel client
            // cores) to 2 MB. On Zen 3's 512 KB, NB 512 (a 512 KB block of B,
            // the AVX-512 tuning for a 1 MB L2) had 4.4x the L2 misses of NB
            // 256 on gemm.1024 (cachegrind with this L2): B fell out of L2
            // between the micro-panels of A.
            GEMMBlocking(mr: Int(FSK_AVX2_MR), nr: Int(FSK_AVX2_NR), kc: 256,
                         nb: Self.columnsForHalfOfL2(depth: 256), mc: 4096, nc: 4096)
        case .swift:
            GEMMBlocking(mr: SwiftMicroKernel.mr, nr: SwiftMicroKernel.nr, kc: 256, nb: 512, mc: 4096, nc: 4096)
        }
    }
}

extension GEMMKernelPath {
    /// The longest row stride (floats) at which `gemm` reads a transposed A in
    /// place instead of packing it. AVX2's 6-row panels use 24 bytes of each
    /// depth step's cache line, and each step is a new 4 KB page once the
    /// stride reaches 1024 floats; every B panel of the column group reads the
    /// panel again, so past this stride packing first pays for itself. AVX-512's
    /// 14-row panels read in place at every stride, as does the Swift path
    /// (see Docs/Performance.md, "Design measurements").
    var transposedAInPlaceStride: Int {
        switch self {
        case .avx2: 384
        case .avx512, .swift: .max
        }
    }

    /// Columns of packed B whose `depth` x columns floats fill half of one
    /// core's L2 cache (a power of two from 128 to 1024): one part's B block,
    /// leaving the other half to A, C and what the prefetchers bring in.
    static func columnsForHalfOfL2(depth: Int) -> Int {
        let columns = max(1, level2CacheBytes / 2 / (depth * MemoryLayout<Float>.stride))
        return min(1024, max(128, 1 << (Int.bitWidth - 1 - columns.leadingZeroBitCount)))
    }

    /// One core's L2 cache in bytes as the C library reports it; 512 KB where it reports none.
    static let level2CacheBytes: Int = {
        #if os(Linux)
        let bytes = sysconf(Int32(_SC_LEVEL2_CACHE_SIZE))
        #elseif os(macOS)
        var bytes = 0
        var size = MemoryLayout<Int>.size
        if sysctlbyname("hw.l2cachesize", &bytes, &size, nil, 0) != 0 { bytes = 0 }
        #else
        let bytes = 0
        #endif
        return bytes > 0 ? Int(bytes) : 512 << 10
    }()
}

/// Register and cache blocks of one kernel path, in elements.
///
/// Sized for a core with a 48 KB L1d, a 1 MB L2 and a shared 32 MB L3 (AMD Zen 5,
/// where they were tuned; on CPUs with a smaller L2 the results are the same,
/// only slower; the AVX2 path sizes `nb` from the L2 it runs on):
/// - `mr x kc` packed A (14 KB for AVX-512) stays in L1 while one micro-kernel
///   call after another streams `kc x nr` packed B (32 KB) past it;
/// - `kc x nb` packed B (512 KB) is one part's L2 working set, reused by every
///   A micro-panel of the part;
/// - `kc = 256`: each K block revisits C (`M x N`), so a call reads and writes
///   C `K / 256` times (prefetching the C tile in the kernel made no measurable
///   difference); `mc x kc` A and `kc x nc` B (at most 4 MB each) are packed once
///   per step and shared by all threads through L3.
/// On gemm.1024 (AVX-512) KC from 192 to 384 with NB 256 or 512 were within
/// run-to-run noise (about 5%); KC 128 and KC 512 with NB 1024 were 10-25% slower.
struct GEMMBlocking {
    /// Rows of C per micro-kernel call.
    let mr: Int
    /// Columns of C per micro-kernel call.
    let nr: Int
    /// Depth of a packed block.
    let kc: Int
    /// Columns of packed B one part works through (a multiple of `nr`).
    let nb: Int
    /// Rows of A packed per block (a multiple of `mr`).
    let mc: Int
    /// Columns of B packed per block (a multiple of `nb`).
    let nc: Int

    /// Rounds the cache blocks to whole micro-panels: `nb` and `mc` down to
    /// multiples of `nr` and `mr`, `nc` down to a multiple of `nb`.
    init(mr: Int, nr: Int, kc: Int, nb: Int, mc: Int, nc: Int) {
        self.mr = mr
        self.nr = nr
        self.kc = kc
        self.nb = max(nr, nb / nr * nr)
        self.mc = max(mr, mc / mr * mr)
        self.nc = max(self.nb, nc / self.nb * self.nb)
    }
}


// Packing buffers for `gemm`, allocated once and reused across calls.

import Synchronization

/// The packed A and B blocks of one `gemm` call, 64-byte aligned.
///
/// Calls borrow a workspace from a process-wide cache and return it, so in steady
/// state no call allocates; concurrent calls from different threads each borrow
/// their own. A workspace only grows, to at most 4 MB for each of A and B
/// (`MC`, `NC` <= 4096 and `KC` <= 256), and at most 4 are kept.
/// (`@unchecked`: its aligned raw buffers are owned by one call at a time, handed
/// over through the cache's `Mutex`, which the compiler cannot check; the
/// ThreadSanitizer step of `.ci/run` runs GEMMTests and ConcurrentInferenceTests,
/// many threads multiplying at once, over it.)
final class GEMMWorkspace: @unchecked Sendable {
    // @unchecked: mutable pointers to the packing buffers, and workspaces move
    // between threads through the process-wide cache, so no checked form fits.
    // Safe because a workspace is lent to one `gemm` call at a time (taken
    // from and returned to the Mutex-guarded cache, which orders the handover),
    // only that call resizes it, and its pool parts pack and read disjoint
    // panels between the pool's barriers. `.ci/run`'s ThreadSanitizer step runs
    // the threaded and concurrent GEMM tests over it.

    /// Packed `mc x kc` block of A.
    private(set) var packedA: UnsafeMutablePointer<Float>
    /// Packed `kc x nc` block of B.
    private(set) var packedB: UnsafeMutablePointer<Float>
    private var capacityA: Int
    private var capacityB: Int

    private init() {
        capacityA = 0
        capacityB = 0
        packedA = Self.allocate(0)
        packedB = Self.allocate(0)
    }

    deinit {
        packedA.deallocate()
        packedB.deallocate()
    }

    /// Workspaces not lent out. At most `cacheLimit` are kept.
    private static let cache = Mutex<[GEMMWorkspace]>([])
    private static let cacheLimit = 4

    /// Lends a workspace whose buffers hold at least `a` and `b` floats to `body`.
    static func withWorkspace<R>(a: Int, b: Int, _ body: (GEMMWorkspace) -> R) -> R {
        let workspace = cache.withLock { $0.popLast() } ?? GEMMWorkspace()
        workspace.reserve(a: a, b: b)
        defer {
            cache.withLock { free in
                if free.count < cacheLimit { free.append(workspace) }
            }
        }
        return body(workspace)
    }

    private func reserve(a: Int, b: Int) {
        if a > capacityA {
            packedA.deallocate()
            packedA = Self.allocate(a)
            capacityA = a
        }
        if b > capacityB {
            packedB.deallocate()
            packedB = Self.allocate(b)
            capacityB = b
        }
    }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> { alignedFloats(count) }
}

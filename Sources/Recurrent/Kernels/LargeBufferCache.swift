// Reuse of the few very large buffers a training step needs (a ConvLSTM2D's
// record and gate gradients: hundreds of MB on convlstm.seed2), so a training
// loop does not fault in fresh pages for them on every step.
//
// The C allocator returns buffers this large to the system when they are
// freed, and touching new pages costs about a microsecond per 4 KB page: on
// convlstm.seed2.train about 9% of the profile was page faults. Freed buffers
// are kept here instead, at most `limit` of them (so at most two steps' worth
// of memory stays allocated after training ends), and handed out again to any
// request they can hold.

import Synchronization

enum LargeBufferCache {
    /// Buffers kept at most; the largest are kept when there are more.
    static let limit = 3
    /// Below this many bytes, buffers go straight to the allocator.
    static let minimumBytes = 1 << 24

    /// Addresses (pointers are not Sendable) and sizes of the kept buffers.
    private static let free = Mutex<[(address: UInt, bytes: Int)]>([])

    /// An uninitialized buffer of at least `count` floats: a cached one that
    /// fits (the smallest such), or a new allocation. Give it back with ``recycle(_:count:)``.
    static func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        if bytes >= minimumBytes {
            let cached = free.withLock { buffers -> UInt? in
                guard let index = buffers.indices.filter({ buffers[$0].bytes >= bytes })
                    .min(by: { buffers[$0].bytes < buffers[$1].bytes }) else { return nil }
                return buffers.remove(at: index).address
            }
            if let cached { return UnsafeMutablePointer<Float>(bitPattern: cached)! }
        }
        return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64).bindMemory(to: Float.self, capacity: count)
    }

    /// Returns a buffer from ``take(_:)`` of the same `count`.
    static func recycle(_ pointer: UnsafeMutablePointer<Float>, count: Int) {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard bytes >= minimumBytes else { return UnsafeMutableRawPointer(pointer).deallocate() }
        let address = UInt(bitPattern: pointer)
        let evicted = free.withLock { buffers -> UInt? in
            buffers.append((address, bytes))
            guard buffers.count > limit else { return nil }
            let smallest = buffers.indices.min { buffers[$0].bytes < buffers[$1].bytes }!
            return buffers.remove(at: smallest).address
        }
        if let evicted { UnsafeMutableRawPointer(bitPattern: evicted)!.deallocate() }
    }
}

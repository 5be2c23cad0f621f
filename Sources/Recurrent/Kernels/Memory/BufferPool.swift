// Reuse of the few very large buffers a training step needs (a ConvLSTM2D's
// record and gate gradients: hundreds of MB on convlstm.seed2), so a training
// loop does not fault in fresh pages for them on every step.
//
// The C allocator returns buffers this large to the system when they are
// freed, and touching new pages costs about a microsecond per 4 KB page: on
// convlstm.seed2.train about 9% of the profile was page faults. Freed buffers
// are kept in the pool of the layer that used them instead (each ConvLSTM2D
// owns one, shared by its copies; a ConvLSTMForecaster gives all its layers
// one pool, the model's workspace), at most `limit` of them, and handed out
// again to any request they can hold; they are released with the model.

import Synchronization

/// A layer's pool of very large scratch buffers, shared by the layer's copies
/// (a class, as ``LSTMInferencePacking`` is): checked `Sendable`, its buffers
/// behind a `Mutex`.
final class BufferPool: Sendable {
    /// Buffers kept at most; the largest are kept when there are more.
    static let limit = 3
    /// Below this many bytes, buffers go straight to the allocator.
    static let minimumBytes = 1 << 24

    /// The kept buffers: arrays, so a buffer and the values holding it stay
    /// checked `Sendable` (a ConvLSTM2D cache keeps one).
    private let free = Mutex<[[Float]]>([])

    /// An array of at least `count` floats whose contents are unspecified: a
    /// kept one that fits (the smallest such), or a new uninitialized one.
    /// Give it back with ``recycle(_:)``; use only its first `count` elements.
    func take(_ count: Int) -> [Float] {
        if count * MemoryLayout<Float>.stride >= Self.minimumBytes {
            let cached = free.withLock { buffers -> [Float]? in
                guard let index = buffers.indices.filter({ buffers[$0].count >= count })
                    .min(by: { buffers[$0].count < buffers[$1].count }) else { return nil }
                return buffers.remove(at: index)
            }
            if let cached { return cached }
        }
        // Every element is overwritten by the caller before it is read: no zero fill.
        return uninitializedFloats(count)
    }

    /// Keeps `buffer` (from ``take(_:)``) for a later `take`, when it is large
    /// enough to be worth it. Callers pass their last reference (`consume`), so
    /// the next taker writes it without a copy (a take racing this call may
    /// still see it shared until the call returns: that costs one copy, never
    /// correctness).
    func recycle(_ buffer: [Float]) {
        guard buffer.count * MemoryLayout<Float>.stride >= Self.minimumBytes else { return }
        let evicted = free.withLock { buffers -> [Float]? in
            buffers.append(buffer)
            guard buffers.count > Self.limit else { return nil }
            let smallest = buffers.indices.min { buffers[$0].count < buffers[$1].count }!
            return buffers.remove(at: smallest)
        }
        _ = evicted   // released here, outside the lock
    }

    /// The buffers kept now (for tests).
    var keptCount: Int { free.withLock { $0.count } }
}

/// `count` floats left uninitialized, for buffers that are overwritten whole before they are read.
///
/// An empty request returns `[]`: `Array(unsafeUninitializedCapacity: 0)` writes the
/// count into the storage every empty array shares, a data race between threads
/// (ThreadSanitizer reports it) though the value written is always 0.
func uninitializedFloats(_ count: Int) -> [Float] {
    guard count > 0 else { return [] }
    return [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
}

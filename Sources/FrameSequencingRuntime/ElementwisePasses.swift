// Element-wise passes over large float buffers split across the worker pool:
// the optimizers' updates and the finiteness checks of tensors and of proposed
// updates.

/// Elements below which a pass runs on the calling thread: about 10
/// microseconds of an optimizer step, where the pool's hand-off stops paying.
package let elementwiseThreadingThreshold = 1 << 15

/// Runs `body(part, range)` over `0 ..< count` in contiguous chunks (multiples
/// of 16 elements but the last), on the worker pool when `count` is large. Parts
/// are numbered from 0 in index order, below `WorkerPool.shared.threadCount`.
/// Each element belongs to exactly one chunk, so an element-wise body gives the
/// same results for any thread count.
package func forEachElementChunk(_ count: Int, _ body: (_ part: Int, _ range: Range<Int>) -> Void) {
    forEachElementChunk(count, parts: elementwiseParts(count), body)
}

/// The number of chunks ``forEachElementChunk(_:_:)`` splits `count` elements into.
package func elementwiseParts(_ count: Int) -> Int {
    count >= elementwiseThreadingThreshold ? max(1, min((count + 15) / 16, WorkerPool.shared.threadCount)) : 1
}

/// ``forEachElementChunk(_:_:)`` with the number of parts given (at least 1).
package func forEachElementChunk(_ count: Int, parts: Int, _ body: (_ part: Int, _ range: Range<Int>) -> Void) {
    let blocks = (count + 15) / 16
    let parts = min(parts, max(1, blocks))
    if parts <= 1 { return body(0, 0 ..< count) }
    WorkerPool.shared.run(parts: parts) { part in
        let (first, end) = (part * blocks / parts, (part + 1) * blocks / parts)
        body(part, first * 16 ..< min(count, end * 16))
    }
}

/// The lowest of `scan(range)` over the chunks of `0 ..< count` (as
/// ``forEachElementChunk(_:_:)``), or nil when every chunk gives nil. `scan` is
/// usually ``firstNonFinite(in:_:)`` over the caller's values.
package func firstNonFiniteElement(_ count: Int, _ scan: (Range<Int>) -> Int?) -> Int? {
    let parts = elementwiseParts(count)   // read once: the slots and the split agree
    return withUnsafeTemporaryAllocation(of: Int?.self, capacity: parts) { found in
        found.initialize(repeating: nil)
        forEachElementChunk(count, parts: parts) { part, range in found[part] = scan(range) }
        return found.lazy.compactMap { $0 }.min()
    }
}

/// The first index in `range` whose `value(j)` is NaN or infinite, or nil.
/// Blocks of 256 are scanned without an exit per element (so the loop
/// vectorizes), and a block holding a non-finite value is searched again.
@inlinable @inline(__always)
package func firstNonFinite(in range: Range<Int>, _ value: (Int) -> Float) -> Int? {
    var start = range.lowerBound
    while start < range.upperBound {
        let end = min(range.upperBound, start + 256)
        // An all-ones exponent (inf, NaN) plus its lowest bit carries into bit 31;
        // every other exponent stays below it. (An OR of integers vectorizes with
        // two accumulators; a running max of |bits| took 1.3x as long on SSE2.)
        var carries: UInt32 = 0
        for j in start ..< end { carries |= (value(j).bitPattern & 0x7F80_0000) &+ 0x0080_0000 }
        if carries & 0x8000_0000 != 0 { return (start ..< end).first { !value($0).isFinite } }
        start = end
    }
    return nil
}

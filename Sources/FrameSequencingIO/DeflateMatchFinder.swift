import FrameSequencingCore

/// The LZ77 half of ``Deflater``: finds, for a position of the input, the
/// longest earlier match within the 32 KiB window.
///
/// Positions are chained by the hash of their first three bytes: `head` holds
/// the latest position of each hash, `previous` (a ring over the window) the
/// position before it with the same hash. Chains are walked newest first, so
/// among equally long matches the nearest wins (short distances cost fewer bits).
struct MatchFinder {
    private static let hashBits = 15
    private var head = [Int32](repeating: -1, count: 1 << MatchFinder.hashBits)
    private var previous = [Int32](repeating: -1, count: Deflater.windowSize)

    /// The hash of the three bytes at `position` (which must have two bytes after it).
    private static func hash(_ data: UnsafeBufferPointer<UInt8>, _ position: Int) -> Int {
        let value = UInt32(data[position]) << 16 | UInt32(data[position + 1]) << 8 | UInt32(data[position + 2])
        // Multiplicative hashing: the top bits of the product mix all 24 input bits.
        return Int((value &* 0x9E37_79B1) >> UInt32(32 - hashBits))
    }

    /// Records `position` as the newest position of its hash.
    mutating func insert(_ position: Int, in data: UnsafeBufferPointer<UInt8>) {
        guard position + Deflater.minimumMatch <= data.count else { return }
        let hash = MatchFinder.hash(data, position)
        previous[position & (Deflater.windowSize - 1)] = head[hash]
        head[hash] = Int32(position)
    }

    /// The longest match for the bytes at `position` among the last `chain`
    /// inserted earlier positions of its hash, or length 0 when there is none of
    /// at least three bytes. The search stops at a match of ``Deflater/niceMatch`` bytes.
    func longestMatch(at position: Int, in data: UnsafeBufferPointer<UInt8>,
                      chain: Int = Deflater.maximumChain) -> (length: Int, distance: Int) {
        let limit = min(Deflater.maximumMatch, data.count - position)
        guard limit >= Deflater.minimumMatch else { return (0, 0) }
        var best = (length: 0, distance: 0)
        var candidate = Int(head[MatchFinder.hash(data, position)])
        var chain = chain
        while candidate >= 0 && position - candidate <= Deflater.windowSize && chain > 0 {
            chain -= 1
            // Cheap rejection: a longer match must agree at the current best length.
            if data[candidate + best.length] == data[position + best.length] {
                var length = 0
                while length < limit && data[candidate + length] == data[position + length] { length += 1 }
                if length > best.length {
                    best = (length, position - candidate)
                    if length >= min(limit, Deflater.niceMatch) { break }
                }
            }
            let next = Int(previous[candidate & (Deflater.windowSize - 1)])
            // The ring slot may hold a newer position than `candidate`: the chain ends there.
            guard next < candidate else { break }
            candidate = next
        }
        return best.length >= Deflater.minimumMatch ? best : (0, 0)
    }
}

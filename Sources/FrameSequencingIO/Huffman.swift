import FrameSequencingCore

// Canonical Huffman codes as DEFLATE (RFC 1951, section 3.2.2) defines them: a
// code is fully described by one bit length per symbol; codes of one length are
// consecutive integers in symbol order, and shorter codes sort first. DEFLATE
// sends codes most significant bit first inside a least-significant-first bit
// stream, so codes are stored here bit-reversed, ready to be read or written LSB
// first. Both directions live here: the decoding table of ``Inflater`` and the
// length-limited code construction of ``Deflater``.

/// The length and distance alphabets of RFC 1951, section 3.2.5.
enum DeflateAlphabet {
    /// The longest code DEFLATE allows for literal/length and distance codes.
    static let maximumCodeLength = 15
    /// The longest code-length code (the code that sends the other codes' lengths).
    static let maximumCodeLengthCodeLength = 7
    static let endOfBlock = 256
    /// Match lengths of symbols 257...285, and how many extra bits follow each.
    static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                    35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtraBits: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                         3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    /// Distances of distance symbols 0...29, and their extra bits.
    static let distanceBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
                                      513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtraBits: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7,
                                           8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    /// The order in which a dynamic block header sends the code-length code's lengths.
    static let codeLengthOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// The fixed literal/length code lengths (block type 1): 288 symbols.
    static let fixedLiteralLengths: [UInt8] =
        [UInt8](repeating: 8, count: 144) + [UInt8](repeating: 9, count: 112)
        + [UInt8](repeating: 7, count: 24) + [UInt8](repeating: 8, count: 8)
    /// The fixed distance code lengths: 32 codes of 5 bits, of which symbols 30
    /// and 31 never occur in valid data (they make the code complete).
    static let fixedDistanceLengths = [UInt8](repeating: 5, count: 32)
}

/// A decoding table for one canonical Huffman code.
///
/// Codes of up to ``fastBits`` bits are decoded with one table lookup; longer
/// ones bit by bit from the per-length counts (the method of zlib's `puff.c`).
struct HuffmanDecoder {
    static let fastBits = 9
    /// Indexed by the next `fastBits` input bits: `symbol << 4 | length`, or 0
    /// when the code is longer than `fastBits` (or not a code at all).
    let fastTable: [UInt16]
    /// The number of codes of each length 0...15.
    let countByLength: [Int]
    /// The symbols ordered by (code length, symbol): canonical code order.
    let sortedSymbols: [Int]

    /// Why a set of code lengths is not a usable code, for error messages.
    enum Fault: Error {
        case overSubscribed, incomplete
    }

    /// The decoder for `lengths` (one per symbol, 0 for unused symbols).
    ///
    /// Throws `overSubscribed` when the lengths describe more codes than fit
    /// (no prefix code exists), and `incomplete` when codes are left unused,
    /// unless `allowsSingleCode` and exactly one symbol has a code of length 1 (RFC
    /// 1951 permits a lone distance code; zlib accepts it for either code). No
    /// symbols at all is accepted: decoding anything with it then fails.
    init(lengths: [UInt8], allowsSingleCode: Bool) throws {
        var counts = [Int](repeating: 0, count: DeflateAlphabet.maximumCodeLength + 1)
        for length in lengths { counts[Int(length)] += 1 }
        counts[0] = 0
        var left = 1
        for length in 1 ... DeflateAlphabet.maximumCodeLength {
            left = left * 2 - counts[length]
            if left < 0 { throw Fault.overSubscribed }
        }
        let used = lengths.count - lengths.lazy.filter { $0 == 0 }.count
        if left > 0 && used > 0 && !(allowsSingleCode && used == 1 && counts[1] == 1) {
            throw Fault.incomplete
        }

        // The first code of each length, then each symbol's code in symbol order.
        var nextCode = [Int](repeating: 0, count: DeflateAlphabet.maximumCodeLength + 2)
        var offsetByLength = [Int](repeating: 0, count: DeflateAlphabet.maximumCodeLength + 2)
        for length in 1 ... DeflateAlphabet.maximumCodeLength {
            nextCode[length + 1] = (nextCode[length] + counts[length]) << 1
            offsetByLength[length + 1] = offsetByLength[length] + counts[length]
        }
        var sorted = [Int](repeating: 0, count: used)
        var table = [UInt16](repeating: 0, count: 1 << HuffmanDecoder.fastBits)
        for (symbol, length) in lengths.enumerated() where length > 0 {
            let length = Int(length)
            sorted[offsetByLength[length]] = symbol
            offsetByLength[length] += 1
            let code = nextCode[length]
            nextCode[length] += 1
            guard length <= HuffmanDecoder.fastBits else { continue }
            // Every table index whose low `length` bits are this code, reversed.
            let reversed = reverseBits(code, count: length)
            var index = reversed
            while index < table.count {
                table[index] = UInt16(symbol << 4 | length)
                index += 1 << length
            }
        }
        fastTable = table
        countByLength = counts
        sortedSymbols = sorted
    }
}

/// The low `count` bits of `code` in reverse order.
func reverseBits(_ code: Int, count: Int) -> Int {
    var result = 0
    var code = code
    for _ in 0 ..< count {
        result = result << 1 | code & 1
        code >>= 1
    }
    return result
}

// MARK: Building codes for the encoder

enum HuffmanEncoder {
    /// Code lengths for symbols with the given `frequencies`, none longer than
    /// `limit`; unused symbols get 0.
    ///
    /// The lengths are those of a Huffman tree (optimal) when it fits in
    /// `limit`. When it does not, the frequencies are flattened (halved, rounding
    /// up) and the tree rebuilt until it fits: a few bits from optimal, and
    /// always terminating, since equal frequencies give a balanced tree of depth
    /// log2(symbols). At least two symbols get a code, so every code is complete
    /// (some decoders refuse incomplete ones): a lone symbol is paired with
    /// symbol 0 or 1.
    static func codeLengths(frequencies: [Int], limit: Int) -> [UInt8] {
        var weights = frequencies
        var used = weights.indices.filter { weights[$0] > 0 }
        if used.count < 2 {
            for filler in [0, 1] where used.count < 2 && !used.contains(filler) {
                weights[filler] = 1
                used.append(filler)
            }
        }
        precondition((1 << limit) >= used.count, "\(used.count) symbols do not fit in codes of \(limit) bits")
        while true {
            let lengths = treeDepths(weights: weights, symbols: used, symbolCount: frequencies.count)
            if lengths.max()! <= limit { return lengths.map { UInt8($0) } }
            for symbol in used { weights[symbol] = (weights[symbol] + 1) / 2 }
        }
    }

    /// The depth of each leaf in a Huffman tree over `symbols`, built with two
    /// queues (leaves sorted by weight, then merged nodes in creation order).
    private static func treeDepths(weights: [Int], symbols: [Int], symbolCount: Int) -> [Int] {
        let leaves = symbols.sorted { (weights[$0], $0) < (weights[$1], $1) }
        // Nodes 0..<leaves.count are leaves; merged nodes follow.
        var nodeWeight = leaves.map { weights[$0] }
        var parent = [Int](repeating: -1, count: 2 * leaves.count - 1)
        var nextLeaf = 0
        var nextMerged = leaves.count
        func takeSmallest() -> Int {
            let mergedAvailable = nextMerged < nodeWeight.count
            if nextLeaf < leaves.count && (!mergedAvailable || nodeWeight[nextLeaf] <= nodeWeight[nextMerged]) {
                nextLeaf += 1
                return nextLeaf - 1
            }
            nextMerged += 1
            return nextMerged - 1
        }
        while nodeWeight.count < parent.count {
            let (first, second) = (takeSmallest(), takeSmallest())
            parent[first] = nodeWeight.count
            parent[second] = nodeWeight.count
            nodeWeight.append(nodeWeight[first] + nodeWeight[second])
        }
        // Parents are created after their children, so depths fill from the root down.
        var depth = [Int](repeating: 0, count: parent.count)
        for node in stride(from: parent.count - 2, through: 0, by: -1) { depth[node] = depth[parent[node]] + 1 }
        var lengths = [Int](repeating: 0, count: symbolCount)
        for (leaf, symbol) in leaves.enumerated() { lengths[symbol] = depth[leaf] }
        return lengths
    }

    /// The canonical code of every symbol, bit-reversed for LSB-first output
    /// (0 for unused symbols).
    static func canonicalCodes(lengths: [UInt8]) -> [UInt16] {
        var counts = [Int](repeating: 0, count: DeflateAlphabet.maximumCodeLength + 1)
        for length in lengths where length > 0 { counts[Int(length)] += 1 }
        var nextCode = [Int](repeating: 0, count: DeflateAlphabet.maximumCodeLength + 1)
        var code = 0
        for length in 1 ... DeflateAlphabet.maximumCodeLength {
            code = (code + counts[length - 1]) << 1
            nextCode[length] = code
        }
        return lengths.map { length in
            guard length > 0 else { return 0 }
            defer { nextCode[Int(length)] += 1 }
            return UInt16(reverseBits(nextCode[Int(length)], count: Int(length)))
        }
    }
}

import FrameSequencingCore

/// Decompression of zlib streams (RFC 1950) holding DEFLATE data (RFC 1951):
/// stored, fixed-Huffman and dynamic-Huffman blocks.
///
/// The caller states how many bytes the stream must produce (a PNG header fixes
/// it), so the output is allocated once, before decoding, after the caller has
/// checked that size against its memory limit; a stream that would produce one
/// byte more, or ends one byte short, is refused. Nothing in the input is
/// trusted: every read is bounds-checked and every fault throws `malformedFile`
/// naming the file and the compressed byte where decoding stopped.
enum Inflater {
    /// The `outputCount` bytes of the zlib stream `input`; `name` (the file) and
    /// `what` ("its image data") label errors.
    ///
    /// Throws `malformedFile` for a bad zlib header (compression method other
    /// than 8, window above 32 KiB, header check bits, a preset dictionary), any
    /// invalid DEFLATE data (block type 3, a stored block's length check,
    /// over-subscribed or incomplete codes, codes that are not in the code, a
    /// distance before the start of the output), output longer or shorter than
    /// `outputCount`, a wrong Adler-32 checksum, and bytes after the checksum.
    static func decompressZlib(_ input: [UInt8], outputCount: Int, name: String, what: String) throws -> [UInt8] {
        let malformed = { (reason: String) -> FrameSequencingError in
            .malformedFile(path: name, reason: "\(what) is not a valid zlib stream: \(reason)")
        }
        guard input.count >= 2 else { throw malformed("it is \(input.count) bytes long, shorter than the 2-byte zlib header") }
        let (method, flags) = (input[0], input[1])
        guard method & 0x0F == 8 else { throw malformed("its compression method is \(method & 0x0F), expected 8 (deflate)") }
        guard method >> 4 <= 7 else { throw malformed("its window size field is \(method >> 4), above the maximum 7 (32 KiB)") }
        guard (UInt16(method) << 8 | UInt16(flags)) % 31 == 0 else { throw malformed("its header check bits are wrong") }
        guard flags & 0x20 == 0 else { throw malformed("it asks for a preset dictionary, which PNG does not allow") }

        var end = 0
        let output = try input.withUnsafeBufferPointer { source in
            try [UInt8](unsafeUninitializedCapacity: outputCount) { buffer, initialized in
                var state = InflateState(input: source, position: 2, output: buffer, malformed: malformed)
                try state.run()
                guard state.written == outputCount else {
                    throw malformed("its data ends after \(state.written) bytes, expected \(outputCount)")
                }
                initialized = outputCount
                end = state.position
            }
        }
        guard input.count - end >= 4 else {
            throw malformed("it ends \(input.count - end) bytes into the 4-byte Adler-32 checksum")
        }
        let stored = input[end ..< end + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let actual = Adler32().updated(with: output).value
        guard stored == actual else {
            throw malformed("its Adler-32 checksum is \(hex(stored)) but the data gives \(hex(actual))")
        }
        guard end + 4 == input.count else { throw malformed("\(input.count - end - 4) bytes follow its checksum") }
        return output
    }

    static let fixedLiteralDecoder = try! HuffmanDecoder(lengths: DeflateAlphabet.fixedLiteralLengths, allowsSingleCode: false)
    static let fixedDistanceDecoder = try! HuffmanDecoder(lengths: DeflateAlphabet.fixedDistanceLengths, allowsSingleCode: false)
}

/// `value` as eight hexadecimal digits, as checksums are usually shown.
func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}

/// One decoding pass: a least-significant-bit-first reader over `input` and the
/// output written so far (which back-references copy from).
private struct InflateState {
    let input: UnsafeBufferPointer<UInt8>
    /// The next input byte not yet in `bitBuffer`.
    var position: Int
    var bitBuffer: UInt64 = 0
    var bitCount = 0
    let output: UnsafeMutableBufferPointer<UInt8>
    var written = 0
    let malformed: (String) -> FrameSequencingError

    init(input: UnsafeBufferPointer<UInt8>, position: Int, output: UnsafeMutableBufferPointer<UInt8>,
         malformed: @escaping (String) -> FrameSequencingError) {
        self.input = input
        self.position = position
        self.output = output
        self.malformed = malformed
    }

    /// The input byte the decoder has reached, for error messages.
    private var byteOffset: Int { position - bitCount / 8 }

    private func fault(_ reason: String) -> FrameSequencingError {
        malformed("\(reason) (at compressed byte \(byteOffset))")
    }

    /// Decodes blocks up to the final one, then leaves `position` at the first
    /// whole byte after it (where the zlib checksum starts).
    mutating func run() throws {
        var isFinal = false
        while !isFinal {
            isFinal = try bits(1) == 1
            switch try bits(2) {
            case 0: try storedBlock()
            case 1: try huffmanBlock(literals: Inflater.fixedLiteralDecoder, distances: Inflater.fixedDistanceDecoder)
            case 2:
                let (literals, distances) = try dynamicCodes()
                try huffmanBlock(literals: literals, distances: distances)
            default: throw fault("block type 3 is reserved")
            }
        }
        // Whole bytes still in the bit buffer were read ahead; give them back.
        position -= bitCount / 8
        bitBuffer = 0
        bitCount = 0
    }

    // MARK: Bits

    private mutating func refill() {
        while bitCount <= 56 && position < input.count {
            bitBuffer |= UInt64(input[position]) << UInt64(bitCount)
            position += 1
            bitCount += 8
        }
    }

    /// The next `count` (0...16) bits as an integer, first bit lowest.
    private mutating func bits(_ count: Int) throws -> Int {
        if bitCount < count {
            refill()
            guard bitCount >= count else { throw fault("the data ends in the middle of a block") }
        }
        let value = Int(bitBuffer & ((1 << UInt64(count)) - 1))
        bitBuffer >>= UInt64(count)
        bitCount -= count
        return value
    }

    /// The next symbol of `code`.
    private mutating func decode(_ code: HuffmanDecoder) throws -> Int {
        if bitCount < DeflateAlphabet.maximumCodeLength { refill() }
        let entry = Int(code.fastTable[Int(bitBuffer & UInt64((1 << HuffmanDecoder.fastBits) - 1))])
        if entry != 0 {
            let length = entry & 15
            guard length <= bitCount else { throw fault("the data ends in the middle of a block") }
            bitBuffer >>= UInt64(length)
            bitCount -= length
            return entry >> 4
        }
        // Longer than the table (or invalid): walk the canonical code one bit at
        // a time; `first` is the first code of the current length.
        var value = 0, first = 0, index = 0
        for length in 1 ... DeflateAlphabet.maximumCodeLength {
            value |= try bits(1)
            let count = code.countByLength[length]
            if value - first < count { return code.sortedSymbols[index + value - first] }
            index += count
            first = (first + count) << 1
            value <<= 1
        }
        throw fault("a bit sequence is not a code of the block's Huffman code")
    }

    // MARK: Blocks

    private mutating func storedBlock() throws {
        let skip = bitCount % 8
        bitBuffer >>= UInt64(skip)
        bitCount -= skip
        let length = try bits(16)
        let complement = try bits(16)
        guard length == ~complement & 0xFFFF else {
            throw fault("a stored block's length \(length) does not match its check value \(complement)")
        }
        guard length <= output.count - written else { throw tooLong() }
        var remaining = length
        while remaining > 0 && bitCount >= 8 {
            output[written] = UInt8(truncatingIfNeeded: bitBuffer)
            bitBuffer >>= 8
            bitCount -= 8
            written += 1
            remaining -= 1
        }
        guard input.count - position >= remaining else { throw fault("the data ends inside a stored block") }
        if remaining > 0 {
            UnsafeMutableRawPointer(output.baseAddress! + written)
                .copyMemory(from: input.baseAddress! + position, byteCount: remaining)
        }
        written += remaining
        position += remaining
    }

    private mutating func huffmanBlock(literals: HuffmanDecoder, distances: HuffmanDecoder) throws {
        while true {
            let symbol = try decode(literals)
            if symbol < 256 {
                guard written < output.count else { throw tooLong() }
                output[written] = UInt8(symbol)
                written += 1
                continue
            }
            if symbol == DeflateAlphabet.endOfBlock { return }
            let lengthIndex = symbol - 257
            guard lengthIndex < DeflateAlphabet.lengthBase.count else { throw fault("length symbol \(symbol) is invalid") }
            let length = DeflateAlphabet.lengthBase[lengthIndex] + (try bits(DeflateAlphabet.lengthExtraBits[lengthIndex]))
            let distanceSymbol = try decode(distances)
            guard distanceSymbol < DeflateAlphabet.distanceBase.count else {
                throw fault("distance symbol \(distanceSymbol) is invalid")
            }
            let distance = DeflateAlphabet.distanceBase[distanceSymbol]
                + (try bits(DeflateAlphabet.distanceExtraBits[distanceSymbol]))
            guard distance <= written else {
                throw fault("a match reaches \(distance) bytes back but only \(written) bytes precede it (distance too far back)")
            }
            guard length <= output.count - written else { throw tooLong() }
            // Byte by byte: a match may overlap the bytes it produces (distance < length).
            for _ in 0 ..< length {
                output[written] = output[written - distance]
                written += 1
            }
        }
    }

    private func tooLong() -> FrameSequencingError {
        fault("it holds more than the \(output.count) bytes expected")
    }

    /// The literal/length and distance codes of a dynamic block's header.
    private mutating func dynamicCodes() throws -> (HuffmanDecoder, HuffmanDecoder) {
        let literalCount = try bits(5) + 257
        let distanceCount = try bits(5) + 1
        let codeLengthCount = try bits(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else {
            throw fault("a dynamic block declares \(literalCount) length and \(distanceCount) distance codes, above 286 and 30")
        }
        var codeLengthLengths = [UInt8](repeating: 0, count: 19)
        for index in 0 ..< codeLengthCount {
            codeLengthLengths[DeflateAlphabet.codeLengthOrder[index]] = UInt8(try bits(3))
        }
        let codeLengthCode = try makeDecoder(codeLengthLengths, "code-length", allowsSingleCode: false)
        let total = literalCount + distanceCount
        var lengths = [UInt8]()
        lengths.reserveCapacity(total)
        while lengths.count < total {
            let symbol = try decode(codeLengthCode)
            let (value, repeats): (UInt8, Int)
            switch symbol {
            case 0 ..< 16: (value, repeats) = (UInt8(symbol), 1)
            case 16:
                guard let previous = lengths.last else { throw fault("a code length repeats a length before the first one") }
                (value, repeats) = (previous, 3 + (try bits(2)))
            case 17: (value, repeats) = (0, 3 + (try bits(3)))
            default: (value, repeats) = (0, 11 + (try bits(7)))
            }
            guard repeats <= total - lengths.count else { throw fault("code lengths repeat past the \(total) codes declared") }
            lengths.append(contentsOf: repeatElement(value, count: repeats))
        }
        guard lengths[DeflateAlphabet.endOfBlock] != 0 else { throw fault("a dynamic block has no end-of-block code") }
        return (try makeDecoder(Array(lengths[..<literalCount]), "literal/length", allowsSingleCode: true),
                try makeDecoder(Array(lengths[literalCount...]), "distance", allowsSingleCode: true))
    }

    private func makeDecoder(_ lengths: [UInt8], _ name: String, allowsSingleCode: Bool) throws -> HuffmanDecoder {
        do {
            return try HuffmanDecoder(lengths: lengths, allowsSingleCode: allowsSingleCode)
        } catch HuffmanDecoder.Fault.overSubscribed {
            throw fault("the \(name) code lengths are over-subscribed (more codes than bit patterns)")
        } catch {
            throw fault("the \(name) code lengths are incomplete (bit patterns left without a code)")
        }
    }
}

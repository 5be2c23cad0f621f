import FrameSequencingCore

/// The chunk layer of a PNG file, validated: the header, the palette and where
/// the compressed image data lies.
///
/// A file is the 8-byte signature, then chunks of a 4-byte big-endian length, a
/// 4-letter type, the data and a CRC-32 of type and data, from `IHDR` to
/// `IEND`. The walk checks each chunk's length against the bytes left and its
/// CRC before looking at its data, and the order the specification requires.
struct PNGChunks {
    let header: PNGHeader
    /// RGB triples from `PLTE`, empty when there is none.
    let palette: [UInt8]
    /// The data of each `IDAT` chunk, in order: together one zlib stream.
    let imageData: [Range<Int>]

    init(parsing bytes: [UInt8], name: String) throws {
        func malformed(_ reason: String) -> FrameSequencingError { .malformedFile(path: name, reason: reason) }
        guard bytes.starts(with: PNG.signature) else {
            if bytes.count < PNG.signature.count && PNG.signature.starts(with: bytes) {
                throw FrameSequencingError.truncatedFile(path: name, expectedBytes: PNG.signature.count, actualBytes: bytes.count)
            }
            throw malformed("it does not start with the PNG signature 89 50 4E 47 0D 0A 1A 0A")
        }
        var header: PNGHeader?
        var palette: [UInt8]?
        var imageData: [Range<Int>] = []
        var previousType = ""
        var offset = PNG.signature.count
        while true {
            // Length and type, then data and CRC, must all be there.
            guard bytes.count - offset >= 8 else {
                throw FrameSequencingError.truncatedFile(path: name, expectedBytes: offset + 12, actualBytes: bytes.count)
            }
            let length = Int(readBigEndian32(bytes, at: offset))
            guard length <= Int(Int32.max) else {
                throw malformed("the chunk at byte \(offset) declares \(length) bytes, above the format's 2^31 - 1")
            }
            let typeBytes = Array(bytes[offset + 4 ..< offset + 8])
            guard typeBytes.allSatisfy({ (0x41 ... 0x5A).contains($0 & ~0x20) }) else {
                throw malformed("the chunk at byte \(offset) has type bytes \(typeBytes), not four ASCII letters")
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            let data = offset + 8 ..< offset + 8 + length
            guard bytes.count - data.upperBound >= 4 else {
                throw FrameSequencingError.truncatedFile(path: name, expectedBytes: data.upperBound + 4, actualBytes: bytes.count)
            }
            var crc = CRC32()
            crc.update(with: bytes[offset + 4 ..< data.upperBound])
            let stored = readBigEndian32(bytes, at: data.upperBound)
            guard crc.value == stored else {
                throw malformed("its \(type) chunk at byte \(offset) has CRC \(hex(stored)) but its bytes give \(hex(crc.value))")
            }
            if header == nil && type != "IHDR" { throw malformed("its first chunk is \(type), expected IHDR") }
            switch type {
            case "IHDR":
                guard header == nil else { throw malformed("it has a second IHDR chunk at byte \(offset)") }
                header = try PNGChunks.header(bytes[data], name: name)
            case "PLTE":
                guard palette == nil, imageData.isEmpty else {
                    throw malformed("its PLTE chunk at byte \(offset) comes after the image data or a first PLTE")
                }
                palette = Array(bytes[data])
                try PNGChunks.checkPalette(palette!, header: header!, name: name)
            case "IDAT":
                guard imageData.isEmpty || previousType == "IDAT" else {
                    throw malformed("its IDAT chunks are not consecutive (another chunk at byte \(offset) is between them)")
                }
                imageData.append(data)
            case "IEND":
                guard !imageData.isEmpty else { throw malformed("it has no IDAT chunk (no image data)") }
                guard header!.colorType != 3 || palette != nil else { throw malformed("it is a palette image without a PLTE chunk") }
                guard data.upperBound + 4 == bytes.count else {
                    throw malformed("\(bytes.count - data.upperBound - 4) bytes follow its IEND chunk")
                }
                self.header = header!
                self.palette = palette ?? []
                self.imageData = imageData
                return
            default:
                // Bit 5 of the first letter (lower case) marks an ancillary chunk: safe to skip.
                guard typeBytes[0] & 0x20 != 0 else {
                    throw FrameSequencingError.unsupportedFormat(
                        path: name, expected: "the critical chunks IHDR, PLTE, IDAT and IEND",
                        actual: "the unknown critical chunk \(type)")
                }
            }
            previousType = type
            offset = data.upperBound + 4
        }
    }

    /// The validated 13-byte IHDR data.
    private static func header(_ data: ArraySlice<UInt8>, name: String) throws -> PNGHeader {
        func malformed(_ reason: String) -> FrameSequencingError { .malformedFile(path: name, reason: "its IHDR " + reason) }
        guard data.count == 13 else { throw malformed("chunk holds \(data.count) bytes, expected 13") }
        let fields = Array(data)
        let (width, height) = (Int(readBigEndian32(fields, at: 0)), Int(readBigEndian32(fields, at: 4)))
        for (label, size) in [("width", width), ("height", height)] where !(1 ... Int(Int32.max)).contains(size) {
            throw malformed("declares a \(label) of \(size), expected 1...2147483647")
        }
        let (depth, colorType) = (Int(fields[8]), Int(fields[9]))
        guard let depths = PNGHeader.allowedBitDepths[colorType] else {
            throw malformed("declares colour type \(colorType), expected 0, 2, 3, 4 or 6")
        }
        guard depths.contains(depth) else {
            throw malformed("declares bit depth \(depth) for colour type \(colorType), which allows only \(depths)")
        }
        guard fields[10] == 0 else { throw malformed("declares compression method \(fields[10]), expected 0") }
        guard fields[11] == 0 else { throw malformed("declares filter method \(fields[11]), expected 0") }
        guard fields[12] <= 1 else { throw malformed("declares interlace method \(fields[12]), expected 0 or 1") }
        return PNGHeader(width: width, height: height, bitDepth: depth, colorType: colorType, interlaced: fields[12] == 1)
    }

    private static func checkPalette(_ palette: [UInt8], header: PNGHeader, name: String) throws {
        let entries = palette.count / 3
        guard header.colorType != 0 && header.colorType != 4 else {
            throw FrameSequencingError.malformedFile(path: name, reason: "it is a grey image with a PLTE chunk")
        }
        let limit = header.colorType == 3 ? 1 << header.bitDepth : 256
        guard palette.count % 3 == 0, (1 ... limit).contains(entries) else {
            throw FrameSequencingError.malformedFile(
                path: name, reason: "its PLTE chunk holds \(palette.count) bytes, expected 3 per entry and 1...\(limit) entries")
        }
    }
}

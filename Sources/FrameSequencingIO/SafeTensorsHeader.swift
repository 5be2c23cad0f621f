import FrameSequencingCore

/// The validated JSON header of a safetensors file: where each tensor's bytes
/// lie in the data buffer, and the free-form string metadata.
///
/// Nothing in a header is trusted. Validation follows the reference Rust
/// implementation (huggingface/safetensors): every tensor's byte span must equal
/// its element count times its dtype size, and the spans, sorted by offset, must
/// tile the buffer from 0 with no overlap and no hole. Whether the buffer is as
/// long as the last span is checked by the reader, which knows the file size.
struct SafeTensorsHeader {
    /// One tensor's place in the data buffer: bytes `begin ..< end`.
    struct Slot {
        let name: String
        let type: ElementType
        let shape: [Int]
        /// The element count of `shape`.
        let count: Int
        let begin: Int
        let end: Int
    }

    /// The largest header the reference implementation reads (and this one writes).
    static let maximumByteCount = 100_000_000

    /// The tensors, in data-buffer order.
    let slots: [Slot]
    /// `__metadata__`, empty when absent or `null`.
    let metadata: [String: String]
    /// The size of the data buffer the tensors tile: the end of the last slot.
    let bufferByteCount: Int

    /// The dtype names read and written, with their element types.
    static let dtypes: [String: ElementType] = ["F32": .float32, "F64": .float64, "U8": .uint8, "I64": .int64]

    /// Dtypes the safetensors format defines that this module does not read.
    static let otherDtypes: Set<String> = [
        "BOOL", "F4", "F6_E2M3", "F6_E3M2", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
        "I16", "U16", "F16", "BF16", "I32", "U32", "U64", "C64",
    ]

    /// The dtype name written for `type`.
    static func name(of type: ElementType) -> String {
        switch type {
        case .float32: return "F32"
        case .float64: return "F64"
        case .uint8: return "U8"
        case .int64: return "I64"
        }
    }

    /// Parses and validates `header` (the JSON bytes after the length field).
    ///
    /// Throws `malformedFile` for invalid JSON, a header that does not start with
    /// `{`, duplicate names, metadata values that are not strings, missing or
    /// ill-typed fields, unknown dtypes, spans that do not match the shape, and
    /// overlapping spans or holes; `unsupportedFormat` naming the tensor for a
    /// safetensors dtype other than F32, F64, U8 and I64; `sizeOverflow` for a
    /// shape whose element or byte count does not fit in `Int`.
    init(parsing header: [UInt8], path: String) throws {
        // The reference refuses any other first byte, including whitespace.
        guard header.first == UInt8(ascii: "{") else {
            throw FrameSequencingError.malformedFile(path: path, reason: "its JSON header does not start with '{'")
        }
        guard case .object(let entries) = try JSONParser.parse(header, path: path) else {
            throw FrameSequencingError.malformedFile(path: path, reason: "its JSON header is not an object")
        }
        var metadata: [String: String] = [:]
        var slots: [Slot] = []
        for (key, value) in entries {
            if key == "__metadata__" {
                metadata = try SafeTensorsHeader.metadata(from: value, path: path)
            } else {
                slots.append(try SafeTensorsHeader.slot(named: key, from: value, path: path))
            }
        }
        // Sort by (begin, end); the index keeps equal spans (empty tensors) in header order.
        let ordered = slots.enumerated().sorted { ($0.element.begin, $0.element.end, $0.offset) < ($1.element.begin, $1.element.end, $1.offset) }
        var end = 0
        var previous: Slot?
        for (_, slot) in ordered {
            if slot.begin < end, let previous {
                throw FrameSequencingError.malformedFile(
                    path: path, reason: "the data of tensors '\(previous.name)' (bytes \(previous.begin)..<\(previous.end)) "
                        + "and '\(slot.name)' (bytes \(slot.begin)..<\(slot.end)) overlap")
            }
            if slot.begin > end {
                throw FrameSequencingError.malformedFile(
                    path: path, reason: "bytes \(end)..<\(slot.begin) of its data buffer belong to no tensor "
                        + "(a hole before tensor '\(slot.name)')")
            }
            end = slot.end
            previous = slot
        }
        self.slots = ordered.map(\.element)
        self.metadata = metadata
        self.bufferByteCount = end
    }

    private static func metadata(from value: JSONValue, path: String) throws -> [String: String] {
        switch value {
        case .null: return [:]
        case .object(let entries):
            var metadata: [String: String] = [:]
            for (key, value) in entries {
                guard case .string(let text) = value else {
                    throw FrameSequencingError.malformedFile(
                        path: path, reason: "its metadata value for \"\(key.prefix(80))\" is \(value.summary), not a string")
                }
                metadata[key] = text
            }
            return metadata
        default:
            throw FrameSequencingError.malformedFile(path: path, reason: "its __metadata__ is \(value.summary), not an object of strings")
        }
    }

    private static func slot(named name: String, from value: JSONValue, path: String) throws -> Slot {
        func malformed(_ reason: String) -> FrameSequencingError {
            .malformedFile(path: path, reason: "tensor '\(name.prefix(80))' \(reason)")
        }
        guard case .object(let fields) = value else { throw malformed("is \(value.summary), not an object") }
        func field(_ key: String) throws -> JSONValue {
            guard let entry = fields.first(where: { $0.key == key }) else { throw malformed("has no \"\(key)\"") }
            return entry.value
        }
        func integers(_ key: String) throws -> [Int] {
            guard case .array(let items) = try field(key) else { throw malformed("has a \"\(key)\" that is not an array") }
            return try items.map { item in
                guard let integer = item.nonNegativeInteger else {
                    throw malformed("has \(item.summary) in \"\(key)\", not a non-negative integer below 2^63")
                }
                return integer
            }
        }
        guard case .string(let dtype) = try field("dtype") else { throw malformed("has a \"dtype\" that is not a string") }
        guard let type = dtypes[dtype] else {
            if otherDtypes.contains(dtype) {
                throw FrameSequencingError.unsupportedFormat(
                    path: path, expected: "dtype F32, F64, U8 or I64", actual: "dtype \(dtype) for tensor '\(name.prefix(80))'")
            }
            throw malformed("has the unknown dtype \"\(dtype.prefix(40))\"")
        }
        let shape = try integers("shape")
        let offsets = try integers("data_offsets")
        guard offsets.count == 2 else { throw malformed("has \(offsets.count) \"data_offsets\", expected [begin, end]") }
        guard let count = Shape(shape).checkedElementCount, let byteCount = type.byteCount(of: count) else {
            throw FrameSequencingError.sizeOverflow(shape: shape)
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw malformed("has data_offsets [\(begin), \(end)] that end before they begin") }
        guard end - begin == byteCount else {
            throw malformed("is \(dtype) of shape \(shape), \(byteCount) bytes, but its data_offsets [\(begin), \(end)] span \(end - begin)")
        }
        return Slot(name: name, type: type, shape: shape, count: count, begin: begin, end: end)
    }
}

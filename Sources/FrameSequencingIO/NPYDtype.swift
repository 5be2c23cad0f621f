import FrameSequencingCore

/// The meaning of an NPY header's `descr` and `shape` values.
///
/// `descr` is a numpy type string: a byte-order mark (`<` little-endian, `>`
/// big-endian, `=` native, `|` not applicable) and a type code with its size in
/// bytes (`f4`, `u1`, ...). A list instead of a string is a structured dtype.
enum NPYDtype {
    /// The type strings this module reads, as the supported list in error messages.
    static let supported = "'<f4' (float32), '<f8' (float64), '|u1' (uint8) or '<i8' (int64)"

    /// The type string written for `type`: what numpy writes for the same dtype.
    static func descr(for type: ElementType) -> String {
        switch type {
        case .float32: return "<f4"
        case .float64: return "<f8"
        case .uint8: return "|u1"
        case .int64: return "<i8"
        }
    }

    /// The element type for a header's `descr` value.
    ///
    /// A missing mark, `=` and `|` mean native order, which is accepted on a
    /// little-endian machine. Single bytes have no order, so every mark is accepted
    /// for `u1`. Throws `unsupportedFormat` for big-endian data, object arrays,
    /// structured dtypes and every other type, and `malformedFile` when `descr` is
    /// neither a string nor a list.
    static func elementType(for value: PythonLiteral, path: String) throws -> ElementType {
        let descr: String
        switch value {
        case .string(let text): descr = text
        case .list:
            throw FrameSequencingError.unsupportedFormat(
                path: path, expected: "a plain dtype, one of \(supported)",
                actual: "a structured dtype \(truncated(value.description))")
        default:
            throw FrameSequencingError.malformedFile(path: path, reason: "its 'descr' is \(truncated(value.description)), not a dtype string")
        }
        var code = Substring(descr)
        var mark: Character = "="
        if let first = code.first, "<>=|".contains(first) {
            mark = first
            code = code.dropFirst()
        }
        if code.hasPrefix("O") {
            throw FrameSequencingError.unsupportedFormat(
                path: path, expected: "numeric data, one of \(supported)",
                actual: "the object dtype '\(descr)', whose elements are pickled Python objects that are never loaded")
        }
        let types: [Substring: ElementType] = ["f4": .float32, "f8": .float64, "u1": .uint8, "i8": .int64]
        guard let type = types[code] else {
            throw FrameSequencingError.unsupportedFormat(
                path: path, expected: "one of \(supported)", actual: "the dtype '\(truncated(descr))'")
        }
        let bigEndian = mark == ">" || ((mark == "=" || mark == "|") && !isLittleEndianHost)
        if type.byteCount > 1 && bigEndian {
            throw FrameSequencingError.unsupportedFormat(
                path: path, expected: "little-endian data, one of \(supported) (save a.astype(a.dtype.newbyteorder('<')))",
                actual: "the big-endian dtype '\(descr)'")
        }
        return type
    }

    /// The dimensions of a header's `shape` value, which must be a tuple of
    /// non-negative integers (`()` for a scalar).
    ///
    /// Throws `malformedFile` for anything else, naming the offending entry,
    /// including entries too large for `Int`.
    static func shape(from value: PythonLiteral, path: String) throws -> [Int] {
        guard case .tuple(let items) = value else {
            throw FrameSequencingError.malformedFile(
                path: path, reason: "its 'shape' is \(truncated(value.description)), not a tuple of integers such as (3, 4) or (3,)")
        }
        return try items.map { item in
            guard case .integer(let dimension, let text) = item else {
                throw FrameSequencingError.malformedFile(
                    path: path, reason: "its shape entry \(truncated(item.description)) is not an integer")
            }
            guard let dimension else {
                throw FrameSequencingError.malformedFile(path: path, reason: "its shape entry \(truncated(text)) does not fit in a 64-bit integer")
            }
            guard dimension >= 0 else {
                throw FrameSequencingError.malformedFile(path: path, reason: "its shape entry \(dimension) is negative")
            }
            return dimension
        }
    }

    private static var isLittleEndianHost: Bool {
        #if _endian(little)
        return true
        #else
        return false
        #endif
    }

    /// `text` cut to 80 characters, so a hostile header cannot flood an error message.
    private static func truncated(_ text: String) -> String {
        text.count <= 80 ? text : String(text.prefix(80)) + "..."
    }
}

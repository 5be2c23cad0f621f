import FrameSequencingCore

/// Reading and writing numpy's `.npy` array files (format versions 1.0, 2.0, 3.0).
///
/// A file is the magic string `\x93NUMPY`, a major and minor version byte, the
/// header length (UInt16 little-endian for version 1, UInt32 for 2 and 3), the
/// header (a Python dict literal such as `{'descr': '<f4', 'fortran_order': False,
/// 'shape': (3, 4), }` padded with spaces and ending in a newline), then the
/// elements.
///
/// Supported: little-endian `<f4`, `<f8`, `<i8` (also written `=f4` or `f4` on a
/// little-endian machine) and `|u1` (any byte-order mark) in C order, any rank
/// including the scalar shape `()`. Refused with a specific error: big-endian and
/// other dtypes, object arrays (which would need unpickling), Fortran order, and
/// every header or size inconsistency (see ``decode(_:name:limits:)``).
///
/// ```swift
/// try NPY.write(try NumericArray(shape: [2, 3], data: .float32([1, 2, 3, 4, 5, 6])), to: "x.npy")
/// let array = try NPY.read(contentsOf: "x.npy")   // shape [2, 3], .float32
/// ```
public enum NPY {
    /// The largest header accepted (and written): NPY headers of supported
    /// arrays are a few hundred bytes; numpy itself refuses more than 10,000 by default.
    static let maximumHeaderBytes = 1 << 20

    /// Reads the array in the file at `path`, reading its data once, straight into
    /// the array's storage.
    ///
    /// Besides every check of ``decode(_:name:limits:)``, throws `exceedsMemoryLimit`
    /// when the data is larger than `limits` allows (checked before allocating),
    /// and `fileSystem` when the file cannot be opened or read or is not a
    /// regular file.
    public static func read(contentsOf path: String, limits: FileReadLimits = .default) throws -> NumericArray {
        try ReadableFile.withFile(path) { try decode(from: $0, limits: limits) }
    }

    /// What the NPY file at `path` holds, from its header alone: the shape and
    /// the element type (no data is read). Its checks are those of
    /// ``read(contentsOf:limits:)`` except the memory limit.
    public static func describe(contentsOf path: String) throws -> NPYDescription {
        try ReadableFile.withFile(path) { file in
            let (elementType, shape, _, _) = try checkedLayout(of: file)
            return NPYDescription(shape: shape, elementType: elementType)
        }
    }

    /// Reads only `rows`, a range of the first axis, of the array in the file
    /// at `path` (frames `rows` of an (N, H, W, C) series): shape
    /// `[rows.count] + shape.dropFirst()`, the rest of the file unread.
    ///
    /// Throws what ``read(contentsOf:limits:)`` throws (the limit applies to the
    /// rows read), and `indexOutOfRange` for rows outside the first axis or a
    /// scalar array.
    public static func read(contentsOf path: String, rows: Range<Int>, limits: FileReadLimits = .default) throws -> NumericArray {
        try ReadableFile.withFile(path) { file in
            let (elementType, shape, dataOffset, count) = try checkedLayout(of: file)
            guard let first = shape.first, rows.lowerBound >= 0, rows.upperBound <= first else {
                throw FrameSequencingError.indexOutOfRange(name: "Row range bound of '\(path)' (shape \(shape))",
                    index: rows.lowerBound < 0 ? rows.lowerBound : rows.upperBound, count: (shape.first ?? 0) + 1)
            }
            let perRow = first == 0 ? 0 : count / first
            let rowBytes = perRow * elementType.byteCount
            try limits.check(rows.count * rowBytes, for: "Rows \(rows) of '\(path)' (shape \(shape))")
            let data = try elementType.readArray(count: rows.count * perRow, at: dataOffset + rows.lowerBound * rowBytes, from: file)
            return try NumericArray(shape: [rows.count] + shape.dropFirst(), data: data)
        }
    }

    /// Decodes NPY file bytes; `name` labels errors.
    ///
    /// Throws `malformedFile` for a missing magic string, a header that is not a
    /// dict literal with exactly the keys `descr`, `fortran_order` and `shape`, a
    /// shape that is not a tuple of non-negative integers, and bytes after the data
    /// (numpy ignores them; they usually mean the header describes another array);
    /// `unsupportedFormat` for versions other than 1.0, 2.0 and 3.0, unsupported or
    /// big-endian dtypes, object dtypes and Fortran order; `truncatedFile` when the
    /// header or data end past the end of the bytes; `sizeOverflow` when the
    /// shape's element or byte count does not fit in `Int`; `exceedsMemoryLimit`
    /// when the data is larger than `limits` (checked before allocating).
    public static func decode(_ bytes: [UInt8], name: String = "<memory>", limits: FileReadLimits = .default) throws -> NumericArray {
        try decode(from: MemoryBytes(bytes: bytes, name: name), limits: limits)
    }

    /// The NPY bytes of `array`: version 1.0 (2.0 when the header needs more than
    /// 65,535 bytes), little-endian, C order, data starting at a multiple of 64.
    ///
    /// Throws `invalidArgument` when the shape has so many axes that the header
    /// would exceed the 1 MiB this reader accepts.
    public static func encode(_ array: NumericArray) throws -> [UInt8] {
        var bytes = try header(for: array)
        bytes.reserveCapacity(bytes.count + array.data.byteCount)
        array.data.withUnsafeLittleEndianBytes { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Writes `array` to `path` as ``encode(_:)`` lays it out, atomically: `path`
    /// holds either its previous content or the whole new file, never a part.
    ///
    /// The elements are written from the array's own storage (no copy on a
    /// little-endian machine). Throws `fileSystem` when the file cannot be written.
    public static func write(_ array: NumericArray, to path: String) throws {
        let header = try header(for: array)
        try writeAtomically(to: path) { file in
            try file.write(header)
            try array.data.withUnsafeLittleEndianBytes { try file.write($0) }
        }
    }

    // MARK: Reading

    static func decode(from source: any ByteSource, limits: FileReadLimits) throws -> NumericArray {
        let (elementType, shape, dataOffset, count) = try checkedLayout(of: source)
        try limits.check(count * elementType.byteCount, for: "The array data of '\(source.name)' (shape \(shape))")
        let data = try elementType.readArray(count: count, at: dataOffset, from: source)
        return try NumericArray(shape: shape, data: data)
    }

    /// The header's element type, shape and data offset, and the element count,
    /// checked against the size of `source`: the data must fill the rest of it exactly.
    private static func checkedLayout(of source: any ByteSource) throws
        -> (type: ElementType, shape: [Int], dataOffset: Int, count: Int) {
        let (elementType, shape, dataOffset) = try readHeader(from: source)
        guard let count = Shape(shape).checkedElementCount, let byteCount = elementType.byteCount(of: count),
              dataOffset.addingReportingOverflow(byteCount).overflow == false
        else { throw FrameSequencingError.sizeOverflow(shape: shape) }
        try requireExactSize(declaredEnd: dataOffset + byteCount, fileSize: source.byteCount, path: source.name,
                             what: "the array data of shape \(shape)")
        return (elementType, shape, dataOffset, count)
    }

    /// The element type, shape and data offset from the magic string and header.
    private static func readHeader(from source: any ByteSource) throws -> (ElementType, [Int], Int) {
        let path = source.name
        let prefix = try source.bytes(at: 0, count: min(source.byteCount, 8))
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard prefix.prefix(magic.count).elementsEqual(magic.prefix(prefix.count)) else {
            throw FrameSequencingError.malformedFile(path: path, reason: "it does not start with the NPY magic string \\x93NUMPY")
        }
        try source.requireRange(0, 8)
        let (major, minor) = (prefix[6], prefix[7])
        guard (1 ... 3).contains(major), minor == 0 else {
            throw FrameSequencingError.unsupportedFormat(
                path: path, expected: "NPY format version 1.0, 2.0 or 3.0", actual: "NPY format version \(major).\(minor)")
        }
        let lengthWidth = major == 1 ? 2 : 4
        let lengthField = try source.bytes(at: 8, count: lengthWidth)
        let headerLength = Int(readLittleEndian(lengthField, at: 0, width: lengthWidth))
        let headerStart = 8 + lengthWidth
        try source.requireRange(headerStart, headerLength)
        guard headerLength <= maximumHeaderBytes else {
            throw FrameSequencingError.malformedFile(
                path: path, reason: "its header length \(headerLength) exceeds the \(maximumHeaderBytes) bytes this reader accepts")
        }
        let header = try source.bytes(at: headerStart, count: headerLength)
        let entries = try PythonLiteralParser.parseDictionary(header, path: path)
        if let extra = entries.first(where: { !["descr", "fortran_order", "shape"].contains($0.key) }) {
            throw FrameSequencingError.malformedFile(
                path: path, reason: "its header dict has the key '\(extra.key)'; only 'descr', 'fortran_order' and 'shape' are allowed")
        }
        func value(_ key: String) throws -> PythonLiteral {
            guard let entry = entries.first(where: { $0.key == key }) else {
                throw FrameSequencingError.malformedFile(path: path, reason: "its header dict has no '\(key)' key")
            }
            return entry.value
        }
        // A fixed order, whatever the order of the keys: the dtype decides first.
        let elementType = try NPYDtype.elementType(for: try value("descr"), path: path)
        try requireCOrder(try value("fortran_order"), path: path)
        let shape = try NPYDtype.shape(from: try value("shape"), path: path)
        return (elementType, shape, headerStart + headerLength)
    }

    private static func requireCOrder(_ value: PythonLiteral, path: String) throws {
        switch value {
        case .boolean(false): return
        case .boolean(true):
            throw FrameSequencingError.unsupportedFormat(
                path: path, expected: "C (row-major) order, 'fortran_order': False (save np.ascontiguousarray(a))",
                actual: "Fortran (column-major) order")
        default:
            throw FrameSequencingError.malformedFile(path: path, reason: "'fortran_order' is \(value.description), not True or False")
        }
    }

    // MARK: Writing

    /// The magic string, version, length and padded header dict for `array`.
    private static func header(for array: NumericArray) throws -> [UInt8] {
        let shapeText: String
        switch array.shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(array.shape[0]),)"
        default: shapeText = "(" + array.shape.map(String.init).joined(separator: ", ") + ")"
        }
        let dict = "{'descr': '\(NPYDtype.descr(for: array.data.elementType))', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad with spaces so that prefix + header + "\n" is a multiple of 64 bytes.
        func padded(prefixLength: Int) -> [UInt8] {
            let unpadded = prefixLength + dict.utf8.count + 1
            return Array(dict.utf8) + [UInt8](repeating: 0x20, count: (64 - unpadded % 64) % 64) + [0x0A]
        }
        var text = padded(prefixLength: 10)
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8)
        if text.count <= Int(UInt16.max) {
            bytes += [1, 0]
            appendLittleEndian(UInt16(text.count), to: &bytes)
        } else {
            text = padded(prefixLength: 12)
            guard text.count <= maximumHeaderBytes else {
                throw FrameSequencingError.invalidArgument(
                    name: "array rank", expected: "a shape whose NPY header fits in \(maximumHeaderBytes) bytes",
                    actual: "\(array.shape.count) axes")
            }
            bytes += [2, 0]
            appendLittleEndian(UInt32(text.count), to: &bytes)
        }
        return bytes + text
    }
}

/// The shape and element type of an NPY file's array, read from its header
/// (see ``NPY/describe(contentsOf:)``).
public struct NPYDescription: Sendable, Equatable {
    /// The dimensions, outermost first.
    public let shape: [Int]
    let elementType: ElementType

    /// True for `|u1` (bytes, such as pixels).
    public var holdsBytes: Bool { elementType == .uint8 }
    /// True for `<f4` and `<f8`.
    public var holdsFloats: Bool { elementType == .float32 || elementType == .float64 }
    /// Bytes per element: 1, 4 or 8.
    public var elementByteCount: Int { elementType.byteCount }
}

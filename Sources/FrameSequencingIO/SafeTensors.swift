import FrameSequencingCore

/// Named arrays in the [safetensors](https://github.com/huggingface/safetensors)
/// format, with free-form string metadata.
///
/// A file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// (`{"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [2, 3],
/// "data_offsets": [0, 24]}, ...}`), then the data buffer the offsets point into.
/// Dtypes F32, F64, U8 and I64 are read and written; the others of the format are
/// refused with `unsupportedFormat` naming the tensor.
///
/// Tensors keep their file order (data-buffer order) when read and the order given
/// when made; that order is the order written.
///
/// ```swift
/// let weights = try SafeTensors([.init(name: "kernel", array: NumericArray(kernelTensor))], metadata: ["seed": "7"])
/// try weights.write(to: "model.safetensors")
/// let kernel = try SafeTensors.read(contentsOf: "model.safetensors")["kernel"]?.tensor()
/// ```
public struct SafeTensors: Sendable, Equatable {
    /// One named array.
    public struct Entry: Sendable, Equatable {
        /// The tensor's name in the file (any string but `__metadata__`).
        public var name: String
        /// The tensor's shape and elements.
        public var array: NumericArray

        /// The array `array` under `name`.
        public init(name: String, array: NumericArray) {
            self.name = name
            self.array = array
        }
    }

    /// The named arrays, in order.
    public private(set) var entries: [Entry]
    /// Free-form metadata (`__metadata__`), written with keys sorted; omitted from
    /// the file when empty.
    public var metadata: [String: String]
    private var indexByName: [String: Int]

    /// Named arrays in the order given.
    ///
    /// Throws `invalidArgument` for a name that appears twice or is `__metadata__`
    /// (reserved by the format).
    public init(_ entries: [Entry], metadata: [String: String] = [:]) throws {
        var indexByName: [String: Int] = [:]
        for (index, entry) in entries.enumerated() {
            guard entry.name != "__metadata__" else {
                throw FrameSequencingError.invalidArgument(
                    name: "tensor name", expected: "any name but the reserved __metadata__", actual: "__metadata__")
            }
            guard indexByName.updateValue(index, forKey: entry.name) == nil else {
                throw FrameSequencingError.invalidArgument(
                    name: "tensor names", expected: "unique names", actual: "'\(entry.name)' more than once")
            }
        }
        self.entries = entries
        self.metadata = metadata
        self.indexByName = indexByName
    }

    /// Named arrays in the order given (see ``init(_:metadata:)``).
    public init(tensors: [(name: String, array: NumericArray)], metadata: [String: String] = [:]) throws {
        try self.init(tensors.map { Entry(name: $0.name, array: $0.array) }, metadata: metadata)
    }

    /// The array named `name`, or `nil`.
    ///
    /// - Complexity: O(1) on average.
    public subscript(name: String) -> NumericArray? {
        indexByName[name].map { entries[$0].array }
    }

    /// The names, in order.
    public var names: [String] { entries.map(\.name) }

    // MARK: Reading

    /// Reads the file at `path`, reading each tensor's data once, straight into
    /// its array.
    ///
    /// Besides every check of ``decode(_:name:limits:)``, throws `exceedsMemoryLimit` when
    /// the header or the data buffer is larger than `limits` allows (checked before
    /// allocating), and `fileSystem` when the file cannot be opened or read.
    public static func read(contentsOf path: String, limits: FileReadLimits = .default) throws -> SafeTensors {
        try ReadableFile.withFile(path) { try decode(from: $0, limits: limits) }
    }

    /// Decodes safetensors file bytes; `name` labels errors.
    ///
    /// Throws `truncatedFile` when the bytes end before the header or before the
    /// last tensor; `malformedFile` for a header length above 100,000,000 (the
    /// reference limit), bytes after the last tensor, and every header fault that
    /// the header parser lists (invalid JSON, duplicate names, non-string
    /// metadata, spans that overlap, leave holes or disagree with the shape,
    /// unknown dtypes); `unsupportedFormat` for dtypes other than F32, F64, U8 and
    /// I64; `sizeOverflow` for a shape too large for `Int`; `exceedsMemoryLimit`
    /// when the header or the data is larger than `limits` (checked before allocating).
    public static func decode(_ bytes: [UInt8], name: String = "<memory>", limits: FileReadLimits = .default) throws -> SafeTensors {
        try decode(from: MemoryBytes(bytes: bytes, name: name), limits: limits)
    }

    static func decode(from source: any ByteSource, limits: FileReadLimits) throws -> SafeTensors {
        let path = source.name
        try source.requireRange(0, 8)
        let declaredLength = readLittleEndian(try source.bytes(at: 0, count: 8), at: 0, width: 8)
        guard declaredLength <= UInt64(SafeTensorsHeader.maximumByteCount) else {
            throw FrameSequencingError.malformedFile(
                path: path, reason: "its header length \(declaredLength) exceeds the limit of "
                    + "\(SafeTensorsHeader.maximumByteCount) bytes (is this a safetensors file?)")
        }
        let headerLength = Int(declaredLength)
        try source.requireRange(8, headerLength)
        try limits.check(headerLength, for: "The header of '\(path)'")
        let header = try SafeTensorsHeader(parsing: source.bytes(at: 8, count: headerLength), path: path)

        let dataStart = 8 + headerLength
        guard dataStart.addingReportingOverflow(header.bufferByteCount).overflow == false else {
            throw FrameSequencingError.truncatedFile(path: path, expectedBytes: Int.max, actualBytes: source.byteCount)
        }
        try requireExactSize(declaredEnd: dataStart + header.bufferByteCount, fileSize: source.byteCount,
                             path: path, what: "the last tensor's data")
        try limits.check(header.bufferByteCount, for: "The tensor data of '\(path)'")
        let entries = try header.slots.map { slot in
            let data = try slot.type.readArray(count: slot.count, at: dataStart + slot.begin, from: source)
            return Entry(name: slot.name, array: try NumericArray(shape: slot.shape, data: data))
        }
        return try SafeTensors(entries, metadata: header.metadata)
    }

    // MARK: Writing

    /// The file bytes: the header (metadata first when not empty, then the tensors
    /// in order with contiguous offsets), padded with spaces to a multiple of 8
    /// bytes, then every tensor's little-endian data.
    ///
    /// Throws `invalidArgument` when the header would exceed the 100,000,000 bytes
    /// readers accept.
    public func encode() throws -> [UInt8] {
        var bytes = try headerBytes()
        bytes.reserveCapacity(bytes.count + entries.reduce(0) { $0 + $1.array.data.byteCount })
        for entry in entries {
            entry.array.data.withUnsafeLittleEndianBytes { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// Writes ``encode()``'s layout to `path` atomically: `path` holds either its
    /// previous content or the whole new file. Each tensor is written from its own
    /// storage (no copy on a little-endian machine).
    ///
    /// Throws `fileSystem` when the file cannot be written.
    public func write(to path: String) throws {
        let header = try headerBytes()
        try writeAtomically(to: path) { file in
            try file.write(header)
            for entry in entries {
                try entry.array.data.withUnsafeLittleEndianBytes { try file.write($0) }
            }
        }
    }

    /// The length field and the padded JSON header.
    private func headerBytes() throws -> [UInt8] {
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { jsonString($0.key) + ":" + jsonString($0.value) }
            fields.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for entry in entries {
            let end = offset + entry.array.data.byteCount
            let shape = entry.array.shape.map(String.init).joined(separator: ",")
            fields.append(jsonString(entry.name) + ":{\"dtype\":\"\(SafeTensorsHeader.name(of: entry.array.data.elementType))\","
                + "\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var json = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        guard json.count <= SafeTensorsHeader.maximumByteCount else {
            throw FrameSequencingError.invalidArgument(
                name: "safetensors header", expected: "at most \(SafeTensorsHeader.maximumByteCount) bytes",
                actual: "\(json.count) bytes")
        }
        var bytes: [UInt8] = []
        appendLittleEndian(UInt64(json.count), to: &bytes)
        return bytes + json
    }
}

/// `text` as a JSON string literal: quotes, backslashes and control characters
/// escaped, everything else as UTF-8.
func jsonString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}

import FrameSequencingCore

// Moving array elements between files and memory. Both file formats store
// elements little-endian and row-major, which is the memory layout of every
// little-endian host: there the bytes are copied as they are (read straight from
// the file into the array that keeps them, written straight from the array). On
// a big-endian host each element's bytes are reversed in place after reading and
// in a copy before writing.

extension ElementType {
    /// Reads `count` little-endian elements at byte `offset` of `source` into a new
    /// array, allocating it once and filling it directly.
    ///
    /// The caller checks that the byte range lies within `source`, that its size
    /// fits in `Int` and that it is within the memory limit; this only reads.
    func readArray(count: Int, at offset: Int, from source: any ByteSource) throws -> ArrayData {
        switch self {
        case .float32: return .float32(try readElements(Float.self, count: count, at: offset, from: source))
        case .float64: return .float64(try readElements(Double.self, count: count, at: offset, from: source))
        case .uint8: return .uint8(try readElements(UInt8.self, count: count, at: offset, from: source))
        case .int64: return .int64(try readElements(Int64.self, count: count, at: offset, from: source))
        }
    }
}

extension ArrayData {
    /// The byte size of the elements (never overflows: the elements exist).
    var byteCount: Int { count * elementType.byteCount }

    /// Calls `body` with the elements as little-endian bytes, row-major; no copy on
    /// a little-endian host.
    func withUnsafeLittleEndianBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .float32(let values): return try littleEndianBytes(of: values, body)
        case .float64(let values): return try littleEndianBytes(of: values, body)
        case .uint8(let values): return try values.withUnsafeBytes(body)
        case .int64(let values): return try littleEndianBytes(of: values, body)
        }
    }
}

/// `count` elements of `T` read from the little-endian bytes at `offset`.
private func readElements<T: BitwiseCopyable>(
    _: T.Type, count: Int, at offset: Int, from source: any ByteSource
) throws -> [T] {
    // `Array(unsafeUninitializedCapacity: 0)` writes into the storage every empty
    // array shares, a data race between threads reading empty arrays.
    guard count > 0 else { return [] }
    return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        let raw = UnsafeMutableRawBufferPointer(buffer)
        try source.read(at: offset, into: raw)
        #if _endian(big)
        reverseEachElement(raw, elementSize: MemoryLayout<T>.size)
        #endif
        initialized = count
    }
}

/// Calls `body` with `values` as little-endian bytes.
private func littleEndianBytes<T: BitwiseCopyable, R>(
    of values: [T], _ body: (UnsafeRawBufferPointer) throws -> R
) rethrows -> R {
    #if _endian(big)
    var copy = values
    copy.withUnsafeMutableBytes { reverseEachElement($0, elementSize: MemoryLayout<T>.size) }
    return try copy.withUnsafeBytes(body)
    #else
    return try values.withUnsafeBytes(body)
    #endif
}

/// Reverses the bytes of each `elementSize`-byte element of `raw` in place
/// (little-endian to big-endian and back).
func reverseEachElement(_ raw: UnsafeMutableRawBufferPointer, elementSize: Int) {
    guard elementSize > 1 else { return }
    var start = 0
    while start + elementSize <= raw.count {
        var low = start
        var high = start + elementSize - 1
        while low < high {
            raw.swapAt(low, high)
            low += 1
            high -= 1
        }
        start += elementSize
    }
}

/// Appends `value` as `byteCount` little-endian bytes.
func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    var remaining = value.littleEndian
    withUnsafeBytes(of: &remaining) { bytes.append(contentsOf: $0) }
}

/// The unsigned little-endian integer in `bytes[offset ..< offset + width]`.
///
/// The caller guarantees the range (headers are read whole before parsing).
func readLittleEndian(_ bytes: [UInt8], at offset: Int, width: Int) -> UInt64 {
    precondition(offset >= 0 && width <= 8 && offset + width <= bytes.count, "integer outside its header")
    var value: UInt64 = 0
    for index in stride(from: offset + width - 1, through: offset, by: -1) {
        value = value << 8 | UInt64(bytes[index])
    }
    return value
}

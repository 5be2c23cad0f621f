import FrameSequencingCore

// The two checksums of PNG files: CRC-32 over every chunk (ISO 3309, as in
// gzip and Ethernet) and Adler-32 over the uncompressed bytes of a zlib stream
// (RFC 1950). Both are updated incrementally, so a chunk's type and data can be
// fed separately without being copied together.

/// A running CRC-32 (reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF).
///
/// `CRC32().updated(with: Array("123456789".utf8)).value == 0xCBF43926`, the
/// check value of the standard.
struct CRC32 {
    private var state: UInt32 = 0xFFFF_FFFF

    /// The checksum of the bytes fed so far.
    var value: UInt32 { state ^ 0xFFFF_FFFF }

    /// One remainder per byte value, so each byte costs one lookup and a shift.
    private static let table: [UInt32] = (0 ..< 256).map { byte in
        var remainder = UInt32(byte)
        for _ in 0 ..< 8 {
            remainder = remainder & 1 == 1 ? (remainder >> 1) ^ 0xEDB8_8320 : remainder >> 1
        }
        return remainder
    }

    mutating func update(with bytes: UnsafeRawBufferPointer) {
        var crc = state
        CRC32.table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        state = crc
    }

    mutating func update(with bytes: [UInt8]) {
        bytes.withUnsafeBytes { update(with: $0) }
    }

    mutating func update(with bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { update(with: $0) }
    }

    func updated(with bytes: [UInt8]) -> CRC32 {
        var copy = self
        copy.update(with: bytes)
        return copy
    }
}

/// A running Adler-32: two sums modulo 65521, the second summing the first.
///
/// `Adler32().updated(with: Array("Wikipedia".utf8)).value == 0x11E60398`.
struct Adler32 {
    private var low: UInt32 = 1
    private var high: UInt32 = 0

    /// The checksum of the bytes fed so far: `high << 16 | low`.
    var value: UInt32 { high << 16 | low }

    /// The largest prime below 2^16.
    private static let modulus: UInt32 = 65521
    /// The most bytes that can be summed before `high` could overflow 32 bits
    /// (zlib's NMAX), so the modulo is taken once per run instead of per byte.
    private static let runLength = 5552

    mutating func update(with bytes: UnsafeRawBufferPointer) {
        var (a, b) = (low, high)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + Adler32.runLength)
            for index in start ..< end {
                a &+= UInt32(bytes[index])
                b &+= a
            }
            a %= Adler32.modulus
            b %= Adler32.modulus
            start = end
        }
        (low, high) = (a, b)
    }

    mutating func update(with bytes: [UInt8]) {
        bytes.withUnsafeBytes { update(with: $0) }
    }

    func updated(with bytes: [UInt8]) -> Adler32 {
        var copy = self
        copy.update(with: bytes)
        return copy
    }
}

// Shared by every fuzz target: the rule that a reader either returns or throws
// a `FrameSequencingError`, invariant checks that stop the fuzzer on a broken
// promise, and a reader of fuzz bytes as a stream of small decisions.

@testable import FrameSequencingCore
@testable import FrameSequencingIO

/// `body`'s value, or `nil` when it threw a `FrameSequencingError` (the input
/// was refused, as it should be). Any other error is a bug: the module promises
/// typed errors only, so the fuzzer is stopped with the error named.
func refusingTyped<R>(_ what: @autoclosure () -> String, _ body: () throws -> R) -> R? {
    do {
        return try body()
    } catch is FrameSequencingError {
        return nil
    } catch {
        fatalError("\(what()) threw \(type(of: error)), not a FrameSequencingError: \(error)")
    }
}

/// Stops the fuzzer (a crash it records) when `condition` is false.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant broken: \(message())") }
}

/// Fuzz bytes read front to back as decisions; once they run out every read is 0,
/// so any input (even an empty one) describes one complete case.
struct FuzzInput {
    private let bytes: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func bool() -> Bool { byte() & 1 == 1 }

    /// A value in `range` (small ranges only: one byte of entropy).
    mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(byte()) % (range.upperBound - range.lowerBound + 1)
    }

    mutating func uint64() -> UInt64 {
        (0 ..< 8).reduce(0) { value, _ in value << 8 | UInt64(byte()) }
    }

    /// Mostly a small count in -2...60; one time in eight a value at an edge of
    /// `Int` or far beyond any real series, so overflow and allocation checks are hit.
    mutating func parameter() -> Int {
        let choice = byte()
        guard choice >= 224 else { return Int(choice % 63) - 2 }
        let edges = [0, -1, Int.min, Int.max, Int.max / 2, Int.max - 1, 1 << 32, 1 << 40, 1 << 62, -(1 << 40),
                     Int(Int32.max), Int(Int32.max) + 1, 1 << 20, 3037000500, -3037000500, Int.min + 1]
        return edges[Int(choice - 224) % edges.count]
    }

    /// The rest of the bytes.
    mutating func rest() -> [UInt8] {
        defer { position = bytes.count }
        return position < bytes.count ? Array(bytes[position...]) : []
    }
}

/// The fuzz input as an array (the readers take `[UInt8]`).
func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ count: Int) -> [UInt8] {
    guard let data, count > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: count))
}

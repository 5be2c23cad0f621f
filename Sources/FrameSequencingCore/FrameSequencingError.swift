/// Every error the `FrameSequencing` module throws.
///
/// Each case carries what was expected and what came, and `description` is a
/// full sentence with a hint, so a caller can print it as is. The module throws
/// for anything a caller supplied (arguments, arrays, files); it never traps on
/// such input.
public enum FrameSequencingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An argument is outside its allowed range (zero or negative sizes, a
    /// fraction outside 0...1, an empty list).
    case invalidArgument(name: String, expected: String, actual: String)
    /// Frame `index` has a different (height, width, channels) than frame 0.
    case frameShapeMismatch(index: Int, expected: FrameShape, actual: FrameShape)
    /// Image file `path`, frame `index` of a folder in name order, has a
    /// different (height, width, channels) than the folder's first image, `firstPath`.
    case imageShapeMismatch(path: String, index: Int, expected: FrameShape, actual: FrameShape, firstPath: String)
    /// `name`, a flat array, does not hold the number of elements its shape implies.
    case elementCountMismatch(name: String, expected: Int, actual: Int)
    /// `name` does not have the shape required.
    case shapeMismatch(name: String, expected: ShapeRequirement, actual: [Int])
    /// A window (or a window plus its target) needs more frames than there are.
    case windowLongerThanData(required: Int, available: Int)
    /// An index into `name` is outside `0..<count`.
    case indexOutOfRange(name: String, index: Int, count: Int)
    /// A shape whose element or byte count does not fit in `Int`.
    case sizeOverflow(shape: [Int])
    /// A NaN or infinity in `name` where a finite value is required.
    case nonFinite(name: String, index: Int, value: Float)
    /// A file could not be opened, read, written or renamed.
    case fileSystem(path: String, operation: String, reason: String)
    /// A file is shorter than its header says.
    case truncatedFile(path: String, expectedBytes: Int, actualBytes: Int)
    /// A file's header or layout is not what its format allows.
    case malformedFile(path: String, reason: String)
    /// A well-formed file uses a feature this reader does not support.
    case unsupportedFormat(path: String, expected: String, actual: String)
    /// A requested allocation exceeds the configured memory ceiling.
    case exceedsMemoryLimit(requestedBytes: Int, limitBytes: Int, hint: String)

    public var description: String {
        switch self {
        case let .invalidArgument(name, expected, actual):
            return "Invalid \(name): expected \(expected), got \(actual)."
        case let .frameShapeMismatch(index, expected, actual):
            return "Frame \(index) has shape \(actual) but frame 0 has shape \(expected); "
                + "every frame of a series must have the same height, width and channels."
        case let .imageShapeMismatch(path, index, expected, actual, firstPath):
            return "'\(path)' (frame \(index) in name order) has shape \(actual) but the first image '\(firstPath)' "
                + "has shape \(expected) (height, width, channels); every image of a series must have the same size "
                + "and channel count, so convert it or move it out of the folder."
        case let .elementCountMismatch(name, expected, actual):
            return "\(name) holds \(actual) elements, expected \(expected); "
                + "check that the shape matches the data."
        case let .shapeMismatch(name, expected, actual):
            return "\(name) has shape \(ShapeRequirement(exactly: actual)), expected \(expected)."
        case let .windowLongerThanData(required, available):
            return "A window needs \(required) frames but only \(available) are available; "
                + "use a shorter sequence length, a smaller sampling rate or more frames."
        case let .indexOutOfRange(name, index, count):
            return "\(name) index \(index) is out of range 0..<\(count)."
        case let .sizeOverflow(shape):
            return "Shape \(shape) has more elements than fit in memory addresses; "
                + "check the dimensions (a corrupt header is a common cause)."
        case let .nonFinite(name, index, value):
            return "\(name) holds \(value) at flat index \(index), expected a finite number; "
                + "clean or mask the data before this step."
        case let .fileSystem(path, operation, reason):
            return "Could not \(operation) '\(path)': \(reason)."
        case let .truncatedFile(path, expectedBytes, actualBytes):
            return "'\(path)' is truncated: its header describes \(expectedBytes) bytes "
                + "but the file holds \(actualBytes); the file is incomplete or corrupt."
        case let .malformedFile(path, reason):
            return "'\(path)' is malformed: \(reason)."
        case let .unsupportedFormat(path, expected, actual):
            return "'\(path)' uses \(actual), which is not supported; expected \(expected)."
        case let .exceedsMemoryLimit(requestedBytes, limitBytes, hint):
            return "This needs \(requestedBytes) bytes, more than the limit of \(limitBytes) bytes; \(hint)."
        }
    }
}

extension FrameSequencingError {
    /// Throws `invalidArgument` unless `value > 0`.
    static func requirePositive(_ value: Int, _ name: String) throws {
        guard value > 0 else {
            throw FrameSequencingError.invalidArgument(name: name, expected: "a positive integer", actual: "\(value)")
        }
    }

    /// Throws `invalidArgument` unless `value >= 0`.
    static func requireNonNegative(_ value: Int, _ name: String) throws {
        guard value >= 0 else {
            throw FrameSequencingError.invalidArgument(name: name, expected: "zero or a positive integer", actual: "\(value)")
        }
    }
}

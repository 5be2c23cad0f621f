import Foundation
import FrameSequencing

/// A user's frames as the models see them (values about 0...1) and the map
/// back to the file's own units.
struct LoadedFrames {
    var frames: FrameStack
    /// True for byte pixels (an NPY of uint8 or a folder of images), written back as bytes.
    var isBytes: Bool
}

/// How file values map to model values: `(value - lower) / (upper - lower)`.
/// Bytes are read as `byte / 255`, and floats already in 0...1 as they are;
/// other floats get the training part's minimum and maximum.
struct ValueScaling: Equatable {
    var lower: Float
    var upper: Float

    static let identity = ValueScaling(lower: 0, upper: 1)

    var metadata: [String: String] { ["data.lower": "\(lower)", "data.upper": "\(upper)"] }

    init(lower: Float, upper: Float) { (self.lower, self.upper) = (lower, upper) }

    init(metadata: [String: String], source: String) throws {
        guard let lower = metadata["data.lower"].flatMap(Float.init), let upper = metadata["data.upper"].flatMap(Float.init),
              lower.isFinite, upper.isFinite, upper > lower else {
            throw CLIError.failed("\(source): the checkpoint's metadata has no valid 'data.lower' and 'data.upper'; "
                + "was it written by `frameseq train`?")
        }
        self.init(lower: lower, upper: upper)
    }

    /// Fitted on `frames`: identity when every value is already in 0...1 (bytes
    /// read as value / 255 always are).
    static func fitted(_ frames: FrameStack) throws -> ValueScaling {
        if case .bytes(let scale) = frames.elementKind, scale > 0, scale * 255 <= 1 { return .identity }
        var (low, high) = (Float.infinity, -Float.infinity)
        for index in 0 ..< frames.count {
            try frames.frame(at: index).withUnsafeBufferPointer { values in
                for (i, v) in values.enumerated() {
                    guard v.isFinite else {
                        throw CLIError.failed("frame \(index) holds \(v) at element \(i); frames must be finite")
                    }
                    (low, high) = (min(low, v), max(high, v))
                }
            }
        }
        if low >= 0 && high <= 1 { return .identity }
        return ValueScaling(lower: low, upper: high > low ? high : low + 1)
    }

    func apply(_ frames: FrameStack) throws -> FrameStack {
        guard self != .identity else { return frames }
        let factor = 1 / (upper - lower)
        return try FrameStack(stacked: try frames.tensor().scalars.map { ($0 - lower) * factor }, frameShape: frames.frameShape)
    }

    func invert(_ values: [Float]) -> [Float] {
        self == .identity ? values : values.map { $0 * (upper - lower) + lower }
    }
}

/// Reads `path`: a folder of PNG/PGM/PPM frames in name order, or an NPY
/// file of frames (N, H, W, C) or (N, H, W) in uint8 or float.
func loadFrames(_ path: String) throws -> LoadedFrames {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw CLIError.failed("'\(path)': no such file or folder (expected an .npy file or a folder of images)")
    }
    if isDirectory.boolValue {
        return LoadedFrames(frames: try ImageFolder.read(directory: path, scale: 1.0 / 255), isBytes: true)
    }
    guard path.lowercased().hasSuffix(".npy") else {
        throw CLIError.failed("'\(path)': expected an .npy file of frames or a folder of .png/.pgm/.ppm images")
    }
    let array = try NPY.read(contentsOf: path)
    switch array.data {
    case .uint8:
        return LoadedFrames(frames: try array.frameStack(scale: 1.0 / 255), isBytes: true)
    case .float32, .float64:
        return LoadedFrames(frames: try array.frameStack(), isBytes: false)
    case .int64:
        throw CLIError.failed("'\(path)' holds int64 values; expected frames of uint8 (pixels) or float32/float64")
    }
}

/// Reads only frames `range` of the series at `path` (an NPY file's rows, or
/// those images of a folder in name order), so a forecast from the end of a
/// long series reads its last few frames, not the whole file. Every image read
/// must have `header`'s frame shape.
func loadFrames(_ path: String, range: Range<Int>, header: SeriesHeader) throws -> LoadedFrames {
    guard !range.isEmpty, range.lowerBound >= 0, range.upperBound <= header.count else {
        throw CLIError.failed("'\(path)': frames \(range.lowerBound)..<\(range.upperBound) are not in its \(header.count) frames")
    }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        let paths = try ImageFolder.imagePaths(in: path)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(range.count * header.frame.featureCount)
        for index in range {
            let image = try ImageFolder.readImage(contentsOf: paths[index])
            guard image.shape == header.frame else {
                throw FrameSequencingError.imageShapeMismatch(path: paths[index], index: index, expected: header.frame,
                                                              actual: image.shape, firstPath: paths[0])
            }
            bytes += image.pixels
        }
        return LoadedFrames(frames: try FrameStack(stacked: bytes, frameShape: header.frame, scale: 1.0 / 255), isBytes: true)
    }
    let array = try NPY.read(contentsOf: path, rows: range)
    switch array.data {
    case .uint8: return LoadedFrames(frames: try array.frameStack(scale: 1.0 / 255), isBytes: true)
    case .float32, .float64: return LoadedFrames(frames: try array.frameStack(), isBytes: false)
    case .int64:
        throw CLIError.failed("'\(path)' holds int64 values; expected frames of uint8 (pixels) or float32/float64")
    }
}

/// Writes `values` (frames of `shape`, model units) as an NPY file in the
/// input's kind: bytes for byte input, floats in the file's units otherwise.
func writeFrames(_ values: [Float], shape: [Int], scaling: ValueScaling, asBytes: Bool, to path: String) throws {
    let data: ArrayData = asBytes
        ? .uint8(try ByteImage.bytes(clampingUnitValues: values, context: "The frames for '\(path)'"))
        : .float32(scaling.invert(values))
    try NPY.write(try NumericArray(shape: shape, data: data), to: path)
}

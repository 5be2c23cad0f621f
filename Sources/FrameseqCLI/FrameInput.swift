import Foundation
import FrameSequencing

/// A user's frames as the models see them (values about 0...1) and the map
/// back to the file's own units.
struct LoadedFrames {
    var frames: FrameStack
    /// True for byte pixels (an NPY of uint8 or a folder of images), written back as bytes.
    var isBytes: Bool
}

/// How `frameseq` maps file values to model values, with the library's
/// ``Normalization``: bytes are read as `byte / 255` and floats already in 0...1
/// as they are (the identity); other floats are min-max scaled to 0...1 with
/// the training part's minimum and maximum. Saved in the checkpoint's metadata.
extension Normalization {
    /// The map for `frames` (the training part) and the range of their values:
    /// the identity when every value is already in 0...1 (bytes read as
    /// value / 255 always are), else min-max.
    static func fittedForModels(_ frames: FrameStack) throws -> (map: Normalization, range: ClosedRange<Float>) {
        if case .bytes(let scale) = frames.elementKind, scale > 0, scale * 255 <= 1 { return (.identity, 0 ... 1) }
        var (low, high) = (Float.infinity, -Float.infinity)
        for index in 0 ..< frames.count {
            try frames.frame(at: index).withUnsafeBufferPointer { values in   // read in place: no copy of the frame
                for (i, v) in values.enumerated() {
                    guard v.isFinite else {
                        throw CLIError.failed("frame \(index) holds \(v) at element \(i); frames must be finite")
                    }
                    (low, high) = (min(low, v), max(high, v))
                }
            }
        }
        if low >= 0 && high <= 1 { return (.identity, 0 ... 1) }
        // As Normalization.fit(_:method: .minMax()) computes it, in one pass with the finiteness check.
        let map = try Normalization(center: [low], factor: [high > low ? Float(1 / (Double(high) - Double(low))) : 1])
        return (map, low ... high)
    }

    /// The checkpoint metadata that restores this map: `data.center` and
    /// `data.factor` exactly, and the training values' `range` as `data.lower`
    /// and `data.upper` for a reader (and for checkpoints' older readers).
    func checkpointMetadata(range: ClosedRange<Float>) -> [String: String] {
        ["data.center": "\(center[0])", "data.factor": "\(factor[0])",
         "data.lower": "\(range.lowerBound)", "data.upper": "\(range.upperBound)"]
    }

    /// The map saved in a checkpoint's metadata; checkpoints written before
    /// `data.center` and `data.factor` have `data.lower` and `data.upper` only.
    init(checkpointMetadata metadata: [String: String], source: String) throws {
        let value = { (key: String) in metadata[key].flatMap(Float.init) }
        if let center = value("data.center"), let factor = value("data.factor"),
           let restored = try? Normalization(center: [center], factor: [factor]) {
            self = restored
            return
        }
        guard let lower = value("data.lower"), let upper = value("data.upper"), lower.isFinite, upper.isFinite, upper > lower else {
            throw CLIError.failed("\(source): the checkpoint's metadata has no valid 'data.center' and 'data.factor' "
                + "(nor 'data.lower' and 'data.upper'); was it written by `frameseq train`?")
        }
        self = lower == 0 && upper == 1 ? .identity : try Normalization(center: [lower], factor: [1 / (upper - lower)])
    }

    /// Model values back to the file's units.
    func invert(_ values: [Float]) -> [Float] {
        isIdentity ? values : values.map { $0 / factor[0] + center[0] }
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
func writeFrames(_ values: [Float], shape: [Int], scaling: Normalization, asBytes: Bool, to path: String) throws {
    let data: ArrayData = asBytes
        ? .uint8(try ByteImage.bytes(clampingUnitValues: values, context: "The frames for '\(path)'"))
        : .float32(scaling.invert(values))
    try NPY.write(try NumericArray(shape: shape, data: data), to: path)
}

import Foundation
import FrameSequencing

/// A series of frames as its file describes it, before any frame is read, so
/// a run can be planned (and refused) without allocating.
struct SeriesHeader: Equatable {
    /// Frames in the series.
    var count: Int
    /// The shape of every frame.
    var frame: FrameShape
    /// True for byte pixels (uint8 NPY, image folders): kept as bytes.
    var isBytes: Bool
    /// Bytes per value as read from the file (1, 4 or 8).
    var valueBytes: Int

    /// The header of the NPY file or image folder at `path`.
    static func read(_ path: String) throws -> SeriesHeader {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError.failed("'\(path)': no such file or folder (expected an .npy file or a folder of images)")
        }
        if isDirectory.boolValue {
            let paths = try ImageFolder.imagePaths(in: path)
            guard let first = paths.first else {
                throw CLIError.failed("'\(path)' holds no .png, .pgm or .ppm images")
            }
            return SeriesHeader(count: paths.count, frame: try ImageFolder.readImage(contentsOf: first).shape,
                                isBytes: true, valueBytes: 1)
        }
        guard path.lowercased().hasSuffix(".npy") else {
            throw CLIError.failed("'\(path)': expected an .npy file of frames or a folder of .png/.pgm/.ppm images")
        }
        let description = try NPY.describe(contentsOf: path)
        let shape = description.shape
        guard shape.count == 3 || shape.count == 4, shape.allSatisfy({ $0 > 0 }) else {
            throw CLIError.failed("'\(path)' holds an array of shape \(shape); expected frames (N, H, W, C) or (N, H, W)")
        }
        guard description.holdsBytes || description.holdsFloats else {
            throw CLIError.failed("'\(path)' holds int64 values; expected frames of uint8 (pixels) or float32/float64")
        }
        return SeriesHeader(count: shape[0],
                            frame: try FrameShape(height: shape[1], width: shape[2], channels: shape.count == 4 ? shape[3] : 1),
                            isBytes: description.holdsBytes, valueBytes: description.elementByteCount)
    }

    /// Bytes the frames take once loaded: bytes stay bytes; floats become
    /// Float32 (read at their own width first), and floats outside 0...1 get a
    /// scaled copy of the training part.
    var loadedBytes: Int {
        let values = count * frame.featureCount
        return isBytes ? values : values * max(valueBytes, 4) + values * 4
    }

    /// `(height, width, channels)` as `785x785x3`.
    var frameText: String { "\(frame.height)x\(frame.width)x\(frame.channels)" }
}

/// The memory a run may take: `--memory-limit`, or a share of what the
/// process can still take when it starts.
struct MemoryBudget: Equatable {
    var bytes: Int
    /// Where the figure comes from, for messages.
    var origin: String

    /// The share of the available memory a run plans for by default: the rest
    /// is room for the estimate's error and for other processes.
    static let defaultShare = 0.85

    /// `--memory-limit` when given (`6G`, `512M`, `64K` or bytes), else
    /// ``defaultShare`` of ``ProcessMemory/availableBytes``.
    init(option: String?) throws {
        if let option {
            guard let bytes = Self.parse(option), bytes > 0 else {
                throw CLIError.usage("--memory-limit: expected a size such as 6G, 512M or 1000000 (bytes), got '\(option)'")
            }
            (self.bytes, origin) = (bytes, "--memory-limit \(option)")
        } else {
            let available = ProcessMemory.availableBytes
            bytes = Int(Double(available) * Self.defaultShare)
            origin = "\(Int(Self.defaultShare * 100))% of the \(gibibytes(available)) available; --memory-limit sets it"
        }
    }

    init(bytes: Int, origin: String) { (self.bytes, self.origin) = (bytes, origin) }

    /// Bytes from `6G`, `6GB`, `6GiB`, `512M`, `64K` (powers of 1024) or a plain count.
    static func parse(_ text: String) -> Int? {
        let lower = text.lowercased().replacingOccurrences(of: "ib", with: "").replacingOccurrences(of: "b", with: "")
        let units: [Character: Double] = ["k": 1024, "m": 1024 * 1024, "g": 1024 * 1024 * 1024, "t": pow(1024, 4)]
        if let unit = lower.last, let factor = units[unit], let value = Double(lower.dropLast()), value > 0 {
            let bytes = value * factor
            return bytes < Double(Int.max) ? Int(bytes) : nil
        }
        return Int(lower)
    }
}

/// `bytes` as `3.12 GiB` (or MiB below one GiB).
func gibibytes(_ bytes: Int) -> String {
    let gib = Double(bytes) / Double(1 << 30)
    return gib >= 1 ? String(format: "%.2f GiB", gib) : String(format: "%.0f MiB", Double(bytes) / Double(1 << 20))
}

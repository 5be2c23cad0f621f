#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How much memory a file reader may allocate for one file's data.
///
/// Readers (``NPY/read(contentsOf:limits:)``, ``SafeTensors/read(contentsOf:limits:)``)
/// check the byte count a header declares twice before allocating anything:
/// against the actual file size (a header cannot claim more data than the file
/// holds, so a corrupt 100-byte file never asks for terabytes) and against
/// ``maximumBytes``, so that a genuine but too large file is refused with
/// `exceedsMemoryLimit` instead of the process being killed halfway through.
/// The image readers (``PNG``, ``PNM``, ``ImageFolder``) do the same with the
/// decoded size; for PNG the file-size check is that DEFLATE expands at most
/// 1032-fold, and the limit counts the compressed data, the scanlines and the
/// pixels together.
///
/// ```swift
/// let small = FileReadLimits(maximumBytes: 1 << 30)   // refuse files with more than 1 GiB of data
/// let array = try NPY.read(contentsOf: "frames.npy", limits: small)
/// ```
public struct FileReadLimits: Sendable, Equatable {
    /// The most bytes of array data one read may allocate (headers are bounded
    /// separately by each format).
    public var maximumBytes: Int

    /// A limit of `maximumBytes` (a negative value is treated as 0).
    public init(maximumBytes: Int) {
        self.maximumBytes = max(0, maximumBytes)
    }

    /// The machine's physical memory, or 64 GiB when it cannot be determined.
    ///
    /// Data larger than physical memory cannot be held in memory at once, so
    /// refusing it up front costs nothing; callers on shared machines should pass
    /// a smaller limit. The value is read once per process.
    public static let `default` = FileReadLimits(maximumBytes: physicalMemoryBytes() ?? fallbackBytes)

    /// No limit beyond the file size itself.
    public static let unlimited = FileReadLimits(maximumBytes: Int.max)

    /// 64 GiB: the default where physical memory is unknown.
    static let fallbackBytes = 64 << 30

    /// Throws `exceedsMemoryLimit` when `requestedBytes` is above ``maximumBytes``.
    ///
    /// `what` names the data for the hint ("the array data of 'x.npy'").
    func check(_ requestedBytes: Int, for what: String) throws {
        guard requestedBytes <= maximumBytes else {
            throw FrameSequencingError.exceedsMemoryLimit(
                requestedBytes: requestedBytes, limitBytes: maximumBytes,
                hint: "\(what) is larger than FileReadLimits allows; pass FileReadLimits(maximumBytes:) "
                    + "with a larger value if the machine has the memory, or split the file")
        }
    }

    /// Physical memory from `sysconf`, or `nil` when it reports nothing usable.
    private static func physicalMemoryBytes() -> Int? {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return nil }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageSize)
        return overflow ? Int.max : bytes
    }
}

/// Checks a byte count declared by a header against what is actually there.
///
/// Throws `truncatedFile` when fewer bytes are `available` than `declared`
/// (positions counted from the start of the file, so the error names real file
/// sizes), and `malformedFile` when more are: bytes after the data usually mean the
/// header describes a different array than the one written.
func requireExactSize(declaredEnd: Int, fileSize: Int, path: String, what: String) throws {
    if declaredEnd > fileSize {
        throw FrameSequencingError.truncatedFile(path: path, expectedBytes: declaredEnd, actualBytes: fileSize)
    }
    if declaredEnd < fileSize {
        throw FrameSequencingError.malformedFile(
            path: path,
            reason: "\(fileSize - declaredEnd) bytes follow \(what), which ends at byte \(declaredEnd); "
                + "the header does not describe all of the file")
    }
}

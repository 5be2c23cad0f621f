import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The memory ceiling: how many bytes one read or one allocation may take.
///
/// **The process-wide ceiling** is ``default``. Every reader uses it when no
/// `limits:` argument is passed, and so does every allocation of a ``Tensor``
/// (materialized windows, frame stacks, layer outputs). It starts at the
/// machine's physical memory (``physicalMemory``) and can be lowered (or
/// raised) once at startup, for example from a command-line flag:
///
/// ```swift
/// FileReadLimits.default = FileReadLimits(maximumBytes: 8 << 30)   // 8 GiB for this process
/// ```
///
/// **Per call**, a reader or ``FrameWindows/inputs(layout:limits:)`` takes a
/// `limits:` argument that replaces the process-wide value for that call:
///
/// ```swift
/// let small = FileReadLimits(maximumBytes: 1 << 30)   // refuse files with more than 1 GiB of data
/// let array = try NPY.read(contentsOf: "frames.npy", limits: small)
/// ```
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
/// pixels together. Sizes are computed with overflow checks: a size that does
/// not fit in `Int` is `sizeOverflow`, never a wrapped number.
public struct FileReadLimits: Sendable, Equatable {
    /// The most bytes of array data one read or allocation may take (headers
    /// are bounded separately by each format).
    public var maximumBytes: Int

    /// A limit of `maximumBytes` (a negative value is treated as 0).
    public init(maximumBytes: Int) {
        self.maximumBytes = max(0, maximumBytes)
    }

    /// The process-wide ceiling, used wherever no limits are passed: by the
    /// readers and by every tensor allocation. Starts as ``physicalMemory``.
    ///
    /// Setting it affects every thread from then on (it is stored atomically);
    /// set it once at startup rather than around individual calls, which should
    /// pass `limits:` instead.
    public static var `default`: FileReadLimits {
        get { FileReadLimits(maximumBytes: processCeiling.load(ordering: .relaxed)) }
        set { processCeiling.store(newValue.maximumBytes, ordering: .relaxed) }
    }

    /// The machine's physical memory, or 64 GiB when it cannot be determined:
    /// the initial ``default``.
    ///
    /// Data larger than physical memory cannot be held in memory at once, so
    /// refusing it up front costs nothing; processes on shared machines should
    /// set a smaller ``default``. The value is read once per process.
    public static let physicalMemory = FileReadLimits(maximumBytes: physicalMemoryBytes() ?? fallbackBytes)

    /// No limit beyond the file size itself.
    public static let unlimited = FileReadLimits(maximumBytes: Int.max)

    /// 64 GiB: the physical memory assumed where it is unknown.
    static let fallbackBytes = 64 << 30

    /// Storage of ``default``.
    private static let processCeiling = Atomic<Int>(physicalMemory.maximumBytes)

    /// Throws `exceedsMemoryLimit` when `requestedBytes` is above ``maximumBytes``.
    ///
    /// `what` names the data for the hint ("the array data of 'x.npy'").
    package func check(_ requestedBytes: Int, for what: String) throws {
        try check(requestedBytes, hint: "\(what) is larger than FileReadLimits allows; pass FileReadLimits(maximumBytes:) "
            + "with a larger value if the machine has the memory, or split the file")
    }

    /// Throws `exceedsMemoryLimit` with `hint` when `requestedBytes` is above ``maximumBytes``.
    package func check(_ requestedBytes: Int, hint: @autoclosure () -> String) throws {
        guard requestedBytes <= maximumBytes else {
            throw FrameSequencingError.exceedsMemoryLimit(
                requestedBytes: requestedBytes, limitBytes: maximumBytes, hint: hint())
        }
    }

    /// Checks the bytes of `count` Float32 values against this limit: throws
    /// `sizeOverflow` (naming `shape`) when they do not fit in `Int` and
    /// `exceedsMemoryLimit` with `hint` above ``maximumBytes``.
    package func checkFloats(_ count: Int, shape: [Int], hint: @autoclosure () -> String) throws {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        guard !overflow, count >= 0 else { throw FrameSequencingError.sizeOverflow(shape: shape) }
        try check(bytes, hint: hint())
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

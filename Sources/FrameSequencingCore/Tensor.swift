internal import FrameSequencingRuntime

/// A value-semantic, row-major (C order) Float32 tensor with a named shape.
///
/// Storage is a copy-on-write array, so copies, reshapes and views along the first
/// axis share memory until one of them is written. A view remembers where its
/// elements start in the shared storage; writing through
/// ``withUnsafeMutableBufferPointer(_:)`` first gives the tensor storage of its own
/// when it is shared, exactly as `Array` does.
///
/// ```swift
/// var batch = try Tensor(shape: Shape([2, 3, 4], names: ["batch", "timesteps", "features"]))
/// let flat = try batch.reshaped(to: [2, 12])   // no copy
/// let second = try batch.slice(1..<2)          // view of batch element 1, shape (1, 3, 4)
/// ```
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// The dimensions and axis names.
    public private(set) var shape: Shape
    /// The number of elements: the product of the dimensions.
    public private(set) var count: Int
    // storage[offset ..< offset + count] holds the elements in row-major order.
    @usableFromInline var storage: [Float]
    @usableFromInline var offset: Int

    /// A tensor of `shape` with every element `value`.
    ///
    /// Throws `invalidArgument` for a negative dimension and `sizeOverflow` when the
    /// element count or byte count does not fit in `Int`.
    public init(shape: Shape, repeating value: Float = 0) throws {
        let count = try Tensor.validatedCount(shape)
        self.shape = shape
        self.count = count
        self.storage = [Float](repeating: value, count: count)
        self.offset = 0
    }

    /// A tensor of `other`'s shape with every element zero; it cannot fail, as
    /// `other`'s shape already passed the checks of ``init(shape:repeating:)``.
    public init(zerosLike other: Tensor) {
        self.shape = other.shape
        self.count = other.count
        self.storage = [Float](repeating: 0, count: other.count)
        self.offset = 0
    }

    /// A tensor of `shape` holding `scalars` in row-major order.
    ///
    /// Throws `elementCountMismatch` when `scalars.count` is not the shape's element count.
    public init(shape: Shape, scalars: [Float]) throws {
        let count = try Tensor.validatedCount(shape)
        guard scalars.count == count else {
            throw FrameSequencingError.elementCountMismatch(name: "A scalar array for shape \(shape)", expected: count, actual: scalars.count)
        }
        self.shape = shape
        self.count = count
        self.storage = scalars
        self.offset = 0
    }

    /// A tensor of `shape` converted from Float64 values.
    public init(shape: Shape, converting scalars: [Double]) throws {
        try self.init(shape: shape, scalars: scalars.map { Float($0) })
    }

    /// A tensor of `shape` converted from bytes, each multiplied by `scale`
    /// (`1.0 / 255` maps pixels to 0...1).
    public init(shape: Shape, bytes scalars: [UInt8], scale: Float = 1) throws {
        let count = try Tensor.validatedCount(shape)
        guard scalars.count == count else {
            throw FrameSequencingError.elementCountMismatch(name: "A byte array for shape \(shape)", expected: count, actual: scalars.count)
        }
        var storage = [Float](repeating: 0, count: count)
        storage.withUnsafeMutableBufferPointer { destination in
            scalars.withUnsafeBufferPointer { source in
                convertBytes(source.baseAddress!, to: destination.baseAddress!, count: count, scale: scale)
            }
        }
        self.shape = shape
        self.count = count
        self.storage = storage
        self.offset = 0
    }

    /// A tensor whose every element `initialize` writes; skips the zero fill that
    /// would otherwise double the memory traffic of materializing windows.
    ///
    /// `limits` replaces the process-wide ceiling, and `hint` the generic advice,
    /// in the `exceedsMemoryLimit` error.
    init(shape: Shape, limits: FileReadLimits, hint: @autoclosure () -> String,
         overwritingAll initialize: (UnsafeMutablePointer<Float>) throws -> Void) throws {
        let count = try shape.validatedElementCount()
        try limits.checkFloats(count, shape: shape.dimensions, hint: hint())
        self.shape = shape
        self.count = count
        // `Array(unsafeUninitializedCapacity: 0)` writes into the storage every empty
        // array shares (a data race between threads): an empty tensor takes `[]`.
        self.storage = count == 0 ? [] : try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try initialize(buffer.baseAddress!)
            initialized = count
        }
        self.offset = 0
    }

    // Internal: a view into existing storage; the caller guarantees the range.
    @usableFromInline init(uncheckedShape shape: Shape, count: Int, storage: [Float], offset: Int) {
        precondition(offset >= 0 && offset + count <= storage.count, "view outside its storage")
        self.shape = shape
        self.count = count
        self.storage = storage
        self.offset = offset
    }

    /// Validates `shape` for allocation: a count that fits in `Int`, and bytes
    /// within the process-wide ceiling (``FileReadLimits/default``), so an
    /// impossible request is a typed error instead of the process being killed.
    static func validatedCount(_ shape: Shape) throws -> Int {
        let count = try shape.validatedElementCount()
        try FileReadLimits.default.checkFloats(
            count, shape: shape.dimensions,
            hint: "a Float32 tensor of shape \(shape.dimensions) is larger than the memory ceiling "
                + "FileReadLimits.default; for windows, fill lazy batches (windows.batches(size:)) "
                + "instead of materializing all of them, or raise the ceiling if the machine has the memory")
        return count
    }

    /// The elements in row-major order, as a new array (no copy when the tensor owns
    /// exactly its storage).
    public var scalars: [Float] {
        if offset == 0 && storage.count == count { return storage }
        return Array(storage[offset ..< offset + count])
    }

    /// The dimensions, outermost first.
    public var dimensions: [Int] { shape.dimensions }

    /// The same elements under another shape with the same element count; shares
    /// storage (no copy).
    ///
    /// Throws `elementCountMismatch` when the counts differ.
    public func reshaped(to newShape: Shape) throws -> Tensor {
        let newCount = try Tensor.validatedCount(newShape)
        guard newCount == count else {
            throw FrameSequencingError.elementCountMismatch(name: "Reshaping \(shape) to \(newShape)", expected: count, actual: newCount)
        }
        return Tensor(uncheckedShape: newShape, count: count, storage: storage, offset: offset)
    }

    /// The same tensor with new axis names (one per axis).
    public func named(_ names: [String]) throws -> Tensor {
        guard names.count == shape.rank else {
            throw FrameSequencingError.invalidArgument(
                name: "axis names", expected: "\(shape.rank) names", actual: "\(names.count) names")
        }
        var copy = self
        copy.shape = shape.named(names)
        return copy
    }

    /// A view of `range` along the first axis; shares storage (no copy).
    ///
    /// Throws `indexOutOfRange` when `range` is not within `0...dimensions[0]`, and
    /// `invalidArgument` for a rank-0 tensor.
    public func slice(_ range: Range<Int>) throws -> Tensor {
        guard let outer = shape.dimensions.first else {
            throw FrameSequencingError.invalidArgument(name: "tensor rank", expected: "at least 1 to slice", actual: "0")
        }
        guard range.lowerBound >= 0, range.upperBound <= outer else {
            throw FrameSequencingError.indexOutOfRange(name: "Slice bound of axis 0 (size \(outer))",
                index: range.lowerBound < 0 ? range.lowerBound : range.upperBound, count: outer + 1)
        }
        let inner = outer == 0 ? 0 : count / outer
        var dimensions = shape.dimensions
        dimensions[0] = range.count
        return Tensor(
            uncheckedShape: Shape(dimensions, names: shape.names), count: range.count * inner,
            storage: storage, offset: offset + range.lowerBound * inner)
    }

    /// The element at `indices` (one per axis).
    ///
    /// Throws `invalidArgument` for the wrong number of indices and
    /// `indexOutOfRange` for an index outside its axis.
    public func scalar(at indices: [Int]) throws -> Float {
        guard indices.count == shape.rank else {
            throw FrameSequencingError.invalidArgument(
                name: "index count", expected: "\(shape.rank) indices", actual: "\(indices.count)")
        }
        var flat = 0
        for (axis, (index, size)) in zip(indices, shape.dimensions).enumerated() {
            guard index >= 0 && index < size else {
                throw FrameSequencingError.indexOutOfRange(name: "Axis \(axis)", index: index, count: size)
            }
            flat = flat * size + index
        }
        return storage[offset + flat]
    }

    /// Calls `body` with the elements in row-major order.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { all in
            try body(UnsafeBufferPointer(rebasing: all[offset ..< offset + count]))
        }
    }

    /// Calls `body` with writable elements in row-major order, first giving the
    /// tensor storage of its own when it is shared with a copy or is a view.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        if offset != 0 || storage.count != count {
            storage = scalars
            offset = 0
        }
        return try storage.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// Equal when the dimensions and every element are equal (names are ignored;
    /// NaN is unequal to itself, as for `Float`).
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        guard lhs.shape.dimensions == rhs.shape.dimensions else { return false }
        return lhs.withUnsafeBufferPointer { a in rhs.withUnsafeBufferPointer { b in a.elementsEqual(b) } }
    }

    /// `Tensor(batch 2, timesteps 3, features 4)` followed by up to 8 elements.
    public var description: String {
        let head = withUnsafeBufferPointer { Array($0.prefix(8)) }
        let more = count > 8 ? ", ..." : ""
        return "Tensor\(shape) [" + head.map { "\($0)" }.joined(separator: ", ") + more + "]"
    }
}

// Checks for NaN and infinity.
extension Tensor {
    /// The flat (row-major) index of the first NaN or infinite element, or `nil`
    /// when every element is finite.
    ///
    /// - Complexity: O(count), stopping at the first non-finite element.
    public var firstNonFiniteIndex: Int? {
        withUnsafeBufferPointer { values in
            firstNonFiniteElement(values.count) { range in firstNonFinite(in: range) { values[$0] } }
        }
    }

    /// Sets every element to `value` (a gradient's `zero()`), in place.
    public mutating func fill(with value: Float) {
        withUnsafeMutableBufferPointer { $0.update(repeating: value) }
    }

    /// An opt-in check before inference: throws `nonFinite` naming `name`, the
    /// flat index and the value of the first NaN or infinite element; returns
    /// when every element is finite.
    ///
    /// ```swift
    /// try window.validateFinite(name: "camera window")
    /// let prediction = try model.forward(window)
    /// ```
    public func validateFinite(name: String = "The tensor") throws {
        guard let index = firstNonFiniteIndex else { return }
        throw FrameSequencingError.nonFinite(name: name, index: index, value: withUnsafeBufferPointer { $0[index] })
    }
}

// Reusable batch buffers (see WindowBatch).
extension Tensor {
    /// Gives the tensor `shape`, keeping its storage when it is large enough (no
    /// allocation in a fill loop) and growing it otherwise.
    mutating func reuse(shape newShape: Shape) throws {
        let newCount = try Tensor.validatedCount(newShape)
        if storage.count < newCount {
            storage = [Float](repeating: 0, count: newCount)
        }
        shape = newShape
        count = newCount
        offset = 0
    }

    /// Calls `body` with the start of the tensor's elements for writing, without the
    /// compaction ``withUnsafeMutableBufferPointer(_:)`` does for views (the storage
    /// may be larger than `count`; only the first `count` elements are meaningful).
    mutating func withReusedStorage<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer { try body($0.baseAddress! + offset) }
    }
}

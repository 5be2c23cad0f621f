import FrameSequencingCore

/// The elements of a ``NumericArray`` in their stored type, row-major (C order).
///
/// These are the four element types the file readers (``NPY``, ``SafeTensors``)
/// load without conversion: Float32 and Float64 values, bytes (pixels), and
/// 64-bit integers (lengths, labels). Equality is element-wise, so NaN is unequal
/// to itself as for `Float`.
public enum ArrayData: Sendable, Equatable {
    /// 32-bit floats: NPY `<f4`, safetensors `F32`.
    case float32([Float])
    /// 64-bit floats: NPY `<f8`, safetensors `F64`.
    case float64([Double])
    /// Bytes, such as pixels: NPY `|u1`, safetensors `U8`.
    case uint8([UInt8])
    /// 64-bit signed integers, such as lengths or labels: NPY `<i8`, safetensors `I64`.
    case int64([Int64])

    /// The number of elements.
    public var count: Int {
        switch self {
        case .float32(let values): return values.count
        case .float64(let values): return values.count
        case .uint8(let values): return values.count
        case .int64(let values): return values.count
        }
    }

    /// The element type of this data.
    var elementType: ElementType {
        switch self {
        case .float32: return .float32
        case .float64: return .float64
        case .uint8: return .uint8
        case .int64: return .int64
        }
    }
}

/// An n-dimensional array as stored in a file: a shape and elements of one of the
/// ``ArrayData`` types, row-major (C order).
///
/// This is the exchange value of the file readers and writers. Convert it with
/// ``tensor()`` for Float32 math or ``frameStack(scale:)`` for an image series
/// (byte pixels stay bytes there). The shape and the element count always agree:
/// both are set together by the throwing initializer.
///
/// ```swift
/// let pixels = try NumericArray(shape: [2, 4, 4], data: .uint8(bytes))   // (frames, height, width)
/// let frames = try pixels.frameStack(scale: 1.0 / 255)                    // (2 frames of 4x4x1)
/// ```
public struct NumericArray: Sendable, Equatable {
    /// The dimensions, outermost first; `[]` for a scalar (one element).
    public private(set) var shape: [Int]
    /// The elements in row-major order.
    public private(set) var data: ArrayData

    /// An array of `shape` holding `data`.
    ///
    /// Throws `invalidArgument` for a negative dimension, `sizeOverflow` when the
    /// element count does not fit in `Int`, and `elementCountMismatch` when
    /// `data.count` is not the product of `shape` (1 for the scalar shape `[]`).
    public init(shape: [Int], data: ArrayData) throws {
        let expected = try Shape(shape).validatedElementCount()
        guard data.count == expected else {
            throw FrameSequencingError.elementCountMismatch(name: "Array data for shape \(shape)", expected: expected, actual: data.count)
        }
        self.shape = shape
        self.data = data
    }

    /// A Float32 array with the tensor's dimensions and elements (axis names are
    /// dropped: files store none).
    public init(_ tensor: Tensor) {
        self.shape = tensor.dimensions
        self.data = .float32(tensor.scalars)
    }

    /// The number of elements: the product of ``shape``.
    public var elementCount: Int { data.count }

    /// The elements as a Float32 tensor of the same shape.
    ///
    /// Float64 values are rounded to the nearest Float32 (values beyond its range
    /// become infinite); Int64 values beyond 2^24 in magnitude are rounded.
    /// Float32 data is shared with the tensor, not copied.
    ///
    /// - Complexity: O(n) for types other than Float32.
    public func tensor() throws -> Tensor {
        let tensorShape = Shape(shape)
        switch data {
        case .float32(let values): return try Tensor(shape: tensorShape, scalars: values)
        case .float64(let values): return try Tensor(shape: tensorShape, converting: values)
        case .uint8(let values): return try Tensor(shape: tensorShape, bytes: values, scale: 1)
        case .int64(let values): return try Tensor(shape: tensorShape, scalars: values.map { Float($0) })
        }
    }

    /// The array as an image series: shape (frames, height, width, channels), or
    /// (frames, height, width) read as one channel.
    ///
    /// Every value is read as `Float(value) * scale` whatever the stored type, so
    /// the same pixels saved as bytes or as floats give the same frames. Byte data
    /// stays bytes in the stack (a quarter of the memory) and is scaled when windows
    /// are copied; other types are converted to Float32 here.
    ///
    /// Throws `invalidArgument` unless the rank is 3 or 4 with at least one frame
    /// and positive frame sizes, and `nonFinite` for a NaN or infinite `scale`.
    public func frameStack(scale: Float = 1) throws -> FrameStack {
        guard shape.count == 3 || shape.count == 4 else {
            throw FrameSequencingError.invalidArgument(
                name: "frame array shape",
                expected: "(frames, height, width, channels) or (frames, height, width)", actual: "\(shape)")
        }
        guard scale.isFinite else { throw FrameSequencingError.nonFinite(name: "The frame scale", index: 0, value: scale) }
        let frameShape = try FrameShape(height: shape[1], width: shape[2], channels: shape.count == 4 ? shape[3] : 1)
        switch data {
        case .uint8(let values):
            return try FrameStack(stacked: values, frameShape: frameShape, scale: scale)
        case .float32(let values):
            return try FrameStack(stacked: scale == 1 ? values : values.map { $0 * scale }, frameShape: frameShape)
        case .float64(let values):
            return try FrameStack(stacked: values.map { Float($0) * scale }, frameShape: frameShape)
        case .int64(let values):
            return try FrameStack(stacked: values.map { Float($0) * scale }, frameShape: frameShape)
        }
    }
}

/// The element types the file formats can hold, with their sizes.
enum ElementType: Sendable, CaseIterable {
    case float32, float64, uint8, int64

    /// Bytes per element.
    var byteCount: Int {
        switch self {
        case .float32: return 4
        case .float64: return 8
        case .uint8: return 1
        case .int64: return 8
        }
    }

    /// The byte size of `count` elements, or `nil` when it does not fit in `Int`.
    func byteCount(of count: Int) -> Int? {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: byteCount)
        return overflow ? nil : bytes
    }
}

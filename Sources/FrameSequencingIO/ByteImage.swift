import FrameSequencingCore

/// One image of 8-bit samples, shape (height, width, channels), row-major with
/// channels innermost: what the image readers (``PNG``, ``PNM``) return and the
/// writers take.
///
/// One channel is greyscale, three are red, green, blue. Images with other
/// channel counts can be made and stacked but not written (the writers refuse
/// them). An image plugs into a series with ``FrameStack/init(images:scale:)``,
/// keeping its bytes as bytes.
///
/// ```swift
/// let image = try ByteImage(shape: FrameShape(height: 2, width: 3, channels: 1), pixels: [0, 50, 100, 150, 200, 250])
/// image[1, 2, 0]                                          // 250
/// let frames = try FrameStack(images: [image, image], scale: 1.0 / 255)   // (2, 2, 3, 1)
/// ```
public struct ByteImage: Sendable, Equatable {
    /// (height, width, channels).
    public let shape: FrameShape
    /// `height * width * channels` samples: row 0 left to right, then row 1, ...
    public let pixels: [UInt8]

    /// An image of `shape` holding `pixels`.
    ///
    /// Throws `elementCountMismatch` unless `pixels.count == shape.featureCount`.
    public init(shape: FrameShape, pixels: [UInt8]) throws {
        guard pixels.count == shape.featureCount else {
            throw FrameSequencingError.elementCountMismatch(name: "The pixels of a \(shape) image",
                expected: shape.featureCount, actual: pixels.count)
        }
        self.shape = shape
        self.pixels = pixels
    }

    /// An image from values in 0...1, each stored as `round(value * 255)` after
    /// clamping to 0...1 (so -0.2 becomes 0 and 1.3 becomes 255).
    ///
    /// Values scaled from bytes with `1.0 / 255` come back as the same bytes.
    /// Throws `elementCountMismatch` unless `values.count == shape.featureCount`,
    /// and `nonFinite` naming the first NaN or infinite value (a forecast that
    /// diverged should not be saved as a black or white picture unnoticed).
    public init(clampingUnitValues values: [Float], shape: FrameShape) throws {
        guard values.count == shape.featureCount else {
            throw FrameSequencingError.elementCountMismatch(name: "The values of a \(shape) image",
                expected: shape.featureCount, actual: values.count)
        }
        self.shape = shape
        self.pixels = try Self.bytes(clampingUnitValues: values, context: "An image's values")
    }

    /// `round(value * 255)` of each value after clamping to 0...1, as
    /// ``init(clampingUnitValues:shape:)``; throws `nonFinite` (in `context`)
    /// naming the first NaN or infinite value.
    package static func bytes(clampingUnitValues values: [Float], context: String) throws -> [UInt8] {
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw FrameSequencingError.nonFinite(name: context, index: index, value: values[index])
        }
        return values.map { UInt8((min(max($0, 0), 1) * 255).rounded()) }
    }

    /// An image from a (height, width, channels) tensor of values in 0...1,
    /// converted as ``init(clampingUnitValues:shape:)`` describes.
    ///
    /// Throws `invalidArgument` unless the tensor has rank 3 with positive sizes.
    public init(clampingUnitValues tensor: Tensor) throws {
        guard tensor.shape.rank == 3 else {
            throw FrameSequencingError.invalidArgument(
                name: "image tensor", expected: "a rank-3 (height, width, channels) tensor", actual: "shape \(tensor.shape)")
        }
        let d = tensor.dimensions
        try self.init(clampingUnitValues: tensor.scalars,
                      shape: FrameShape(height: d[0], width: d[1], channels: d[2]))
    }

    /// The sample at (`row`, `column`, `channel`). Traps outside the image, like a
    /// `Collection` subscript; ``sample(row:column:channel:)`` throws instead.
    public subscript(row: Int, column: Int, channel: Int) -> UInt8 {
        precondition((0 ..< shape.height).contains(row) && (0 ..< shape.width).contains(column)
                     && (0 ..< shape.channels).contains(channel), "pixel index out of range")
        return pixels[(row * shape.width + column) * shape.channels + channel]
    }

    /// The sample at (`row`, `column`, `channel`).
    ///
    /// - Throws: `indexOutOfRange` naming the first index outside the image.
    public func sample(row: Int, column: Int, channel: Int) throws -> UInt8 {
        for (index, count, axis) in [(row, shape.height, "Row"), (column, shape.width, "Column"), (channel, shape.channels, "Channel")]
        where !(0 ..< count).contains(index) {
            throw FrameSequencingError.indexOutOfRange(name: "\(axis) of a \(shape) image", index: index, count: count)
        }
        return pixels[(row * shape.width + column) * shape.channels + channel]
    }

    /// The image as a Float32 (height, width, channels) tensor of `Float(byte) * scale`.
    public func tensor(scale: Float = 1) throws -> Tensor {
        try Tensor(shape: shape.shape, bytes: pixels, scale: scale)
    }
}

extension FrameStack {
    /// Images of one shape stacked in order as (frames, height, width,
    /// channels), kept as bytes read as `Float(byte) * scale`.
    ///
    /// Throws `invalidArgument` for an empty list, `frameShapeMismatch` naming the
    /// first image whose shape differs from image 0's, and `nonFinite` for a NaN or
    /// infinite `scale`.
    public init(images: [ByteImage], scale: Float = 1) throws {
        guard let first = images.first else {
            throw FrameSequencingError.invalidArgument(name: "images", expected: "at least one image", actual: "none")
        }
        if let index = images.firstIndex(where: { $0.shape != first.shape }) {
            throw FrameSequencingError.frameShapeMismatch(index: index, expected: first.shape, actual: images[index].shape)
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(images.count * first.shape.featureCount)
        for image in images { bytes.append(contentsOf: image.pixels) }
        try self.init(stacked: bytes, frameShape: first.shape, scale: scale)
    }
}

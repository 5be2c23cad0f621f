/// The dimensions of a tensor, outermost first, with optional axis names.
///
/// Names are documentation that travels with the data (`["batch", "timesteps",
/// "features"]`); they never change how elements are laid out, and two shapes with
/// the same dimensions describe the same layout whatever their names.
///
/// A `Shape` may hold any integers; it is validated when a ``Tensor`` is made from
/// it (no negative dimension, element count within `Int`).
public struct Shape: Sendable, Hashable, CustomStringConvertible, ExpressibleByArrayLiteral {
    /// The size of each axis, outermost first.
    public let dimensions: [Int]
    /// One name per axis, or `nil` when the axes are unnamed.
    public let names: [String]?

    /// Makes a shape; `names`, when given, must have one entry per dimension or it
    /// is dropped (a shape never carries a wrong number of names).
    public init(_ dimensions: [Int], names: [String]? = nil) {
        self.dimensions = dimensions
        self.names = (names?.count == dimensions.count) ? names : nil
    }

    public init(arrayLiteral elements: Int...) {
        self.init(elements)
    }

    /// The number of axes.
    public var rank: Int { dimensions.count }

    /// The number of elements, or `nil` when a dimension is negative or the product
    /// overflows `Int`.
    public var checkedElementCount: Int? {
        var total = 1
        for dimension in dimensions {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = total.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            total = product
        }
        return total
    }

    /// The element count, throwing `invalidArgument` for a negative dimension and
    /// `sizeOverflow` when the product does not fit in `Int`.
    public func validatedElementCount() throws -> Int {
        if let negative = dimensions.first(where: { $0 < 0 }) {
            throw FrameSequencingError.invalidArgument(
                name: "shape \(dimensions)", expected: "non-negative dimensions", actual: "\(negative)")
        }
        guard let count = checkedElementCount else { throw FrameSequencingError.sizeOverflow(shape: dimensions) }
        return count
    }

    /// The same dimensions with new axis names.
    public func named(_ names: [String]) -> Shape { Shape(dimensions, names: names) }

    public static func == (lhs: Shape, rhs: Shape) -> Bool { lhs.dimensions == rhs.dimensions }
    public func hash(into hasher: inout Hasher) { hasher.combine(dimensions) }

    /// `(batch 16, timesteps 10, features 4096)` or `(16, 10, 4096)`.
    public var description: String {
        guard let names else { return "(" + dimensions.map(String.init).joined(separator: ", ") + ")" }
        return "(" + zip(names, dimensions).map { "\($0) \($1)" }.joined(separator: ", ") + ")"
    }
}

/// The (height, width, channels) of one image frame, channels last.
public struct FrameShape: Sendable, Hashable, CustomStringConvertible {
    public let height: Int
    public let width: Int
    public let channels: Int

    /// Makes a frame shape; throws `invalidArgument` unless every size is positive
    /// and `sizeOverflow` when `height * width * channels` does not fit in `Int`.
    public init(height: Int, width: Int, channels: Int) throws {
        try FrameSequencingError.requirePositive(height, "frame height")
        try FrameSequencingError.requirePositive(width, "frame width")
        try FrameSequencingError.requirePositive(channels, "frame channels")
        guard Shape([height, width, channels]).checkedElementCount != nil else {
            throw FrameSequencingError.sizeOverflow(shape: [height, width, channels])
        }
        self.height = height
        self.width = width
        self.channels = channels
    }

    /// The number of values in one frame: `height * width * channels`.
    public var featureCount: Int { height * width * channels }

    /// `(height, width, channels)` as a ``Shape``.
    public var shape: Shape { Shape([height, width, channels], names: ["height", "width", "channels"]) }

    public var description: String { "(\(height), \(width), \(channels))" }
}

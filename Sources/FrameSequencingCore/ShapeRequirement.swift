/// The shape a tensor must have, axis by axis: an exact size, any size (named,
/// such as the batch), or a multiple of a size. What errors report as `expected`.
///
/// ```swift
/// let required: ShapeRequirement = [.any("batch"), .any("timesteps"), 12]
/// required.isSatisfied(by: [4, 10, 12])   // true
/// "\(required)"                          // "(batch, timesteps, 12)"
/// ```
public struct ShapeRequirement: Sendable, Hashable, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// What one axis must be.
    public enum Axis: Sendable, Hashable, ExpressibleByIntegerLiteral, CustomStringConvertible {
        /// Exactly this size.
        case size(Int)
        /// Any size; the name says what the axis holds ("batch").
        case any(String)
        /// A positive multiple of `of`; the name says what the axis holds ("channels").
        case multiple(of: Int, String)

        public init(integerLiteral value: Int) { self = .size(value) }

        /// Whether `size` fits this axis.
        public func isSatisfied(by size: Int) -> Bool {
            switch self {
            case .size(let required): size == required
            case .any: size >= 0
            case .multiple(let factor, _): factor > 0 && size > 0 && size % factor == 0
            }
        }

        public var description: String {
            switch self {
            case .size(let size): "\(size)"
            case .any(let name): name
            case .multiple(let factor, let name): "\(name) a multiple of \(factor)"
            }
        }
    }

    /// One requirement per axis, outermost first; the rank is their count.
    public var axes: [Axis]

    /// A requirement of these axes.
    public init(_ axes: [Axis]) { self.axes = axes }

    public init(arrayLiteral axes: Axis...) { self.axes = axes }

    /// Exactly `dimensions`.
    public init(exactly dimensions: [Int]) { self.axes = dimensions.map(Axis.size) }

    /// Whether `dimensions` has this rank and every axis fits.
    public func isSatisfied(by dimensions: [Int]) -> Bool {
        dimensions.count == axes.count && zip(axes, dimensions).allSatisfy { $0.isSatisfied(by: $1) }
    }

    /// The sizes when every axis is exact (`size`), otherwise nil.
    public var exactDimensions: [Int]? {
        var dimensions: [Int] = []
        for axis in axes {
            guard case .size(let size) = axis else { return nil }
            dimensions.append(size)
        }
        return dimensions
    }

    /// "(batch, 10, 12)": the axes in parentheses, as shapes print.
    public var description: String { "(" + axes.map(\.description).joined(separator: ", ") + ")" }
}

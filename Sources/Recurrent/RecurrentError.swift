import FrameSequencing

/// Every error the `Recurrent` module throws: cases carry what was expected and
/// what came, and `description` is a full sentence with a hint.
public enum RecurrentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An argument is outside its allowed range.
    case invalidArgument(name: String, expected: String, actual: String)
    /// A tensor's shape is not the one required.
    case shapeMismatch(name: String, expected: ShapeRequirement, actual: [Int])
    /// A weight file lacks a tensor the layer needs.
    case missingParameter(name: String, available: [String])
    /// `backward` was given a cache that does not belong to this layer's forward pass.
    case cacheMismatch(reason: String)
    /// A value that must be finite is NaN or infinite: `name` says which tensor
    /// ("gradient 2 of 5", "loss"), `index` the flat element index within it.
    case nonFinite(name: String, index: Int, value: Float)

    public var description: String {
        switch self {
        case let .invalidArgument(name, expected, actual):
            return "Invalid \(name): expected \(expected), got \(actual)."
        case let .shapeMismatch(name, expected, actual):
            return "\(name) has shape \(ShapeRequirement(exactly: actual)), expected \(expected); "
                + "check the layer's sizes and the layout."
        case let .missingParameter(name, available):
            return "The weights have no tensor '\(name)' (they hold \(available.sorted().joined(separator: ", "))); "
                + "check that they come from a layer of the same configuration."
        case let .cacheMismatch(reason):
            return "The cache passed to backward does not match this layer: \(reason); "
                + "pass the cache returned by this layer's trainingForward."
        case let .nonFinite(name, index, value):
            return "\(name) holds \(value) at flat index \(index), expected a finite number; training has diverged "
                + "or the data holds NaN or infinity: lower the learning rate, clip the gradients, or check the inputs."
        }
    }

    static func requireShape(_ tensor: Tensor, _ expected: [Int], _ name: String) throws {
        guard tensor.dimensions == expected else {
            throw RecurrentError.shapeMismatch(name: name, expected: ShapeRequirement(exactly: expected), actual: tensor.dimensions)
        }
    }

    static func requireShape(_ tensor: Tensor, _ expected: ShapeRequirement, _ name: String) throws {
        guard expected.isSatisfied(by: tensor.dimensions) else {
            throw RecurrentError.shapeMismatch(name: name, expected: expected, actual: tensor.dimensions)
        }
    }

    static func requirePositive(_ value: Int, _ name: String) throws {
        guard value > 0 else {
            throw RecurrentError.invalidArgument(name: name, expected: "a positive integer", actual: "\(value)")
        }
    }
}

/// Throws `nonFinite` for the first NaN or infinite element of `tensor`, named
/// by `name(index)`; returns when every element is finite.
func requireFinite(_ tensor: Tensor, _ name: (Int) -> String) throws {
    guard let index = tensor.firstNonFiniteIndex else { return }
    throw RecurrentError.nonFinite(name: name(index), index: index, value: tensor.scalars[index])
}

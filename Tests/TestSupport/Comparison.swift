/// The outcome of comparing one tensor element by element with
/// `|actual - expected| <= atol + rtol * |expected|` (the one rule every test uses).
public struct Comparison: Sendable, CustomStringConvertible {
    /// The tensor's name, as printed.
    public let name: String
    /// The largest `|actual - expected|` seen (infinity for NaN mismatches).
    public let worstError: Float
    /// The first element outside tolerance, or a count mismatch (index -1).
    public let failure: (index: Int, expected: Float, actual: Float)?

    public var passed: Bool { failure == nil }

    public var description: String {
        if let failure {
            if failure.index < 0 {
                return "\(name): \(Int(failure.actual)) elements, expected \(Int(failure.expected))"
            }
            return "\(name) at \(failure.index): expected \(failure.expected), got \(failure.actual)"
        }
        return "\(name) worst \(worstError)"
    }
}

/// Compares `actual` with `expected` on every element. NaN equals NaN only where
/// both are NaN; an infinity must match exactly.
public func compare(
    _ name: String, actual: [Float], expected: [Float], atol: Float = 0, rtol: Float = 0
) -> Comparison {
    guard actual.count == expected.count else {
        return Comparison(name: name, worstError: .infinity,
                          failure: (-1, Float(expected.count), Float(actual.count)))
    }
    var worst: Float = 0
    var failure: (Int, Float, Float)? = nil
    for i in actual.indices {
        let (a, e) = (actual[i], expected[i])
        if a.isNaN && e.isNaN { continue }
        let error = (a == e) ? 0 : abs(a - e)
        let ok = a == e || error <= atol + rtol * abs(e)
        if error.isNaN || error > worst { worst = error.isNaN ? .infinity : error }
        if !ok && failure == nil { failure = (i, e, a) }
    }
    return Comparison(name: name, worstError: worst, failure: failure)
}

/// Tolerances of `../shared/FIXTURES.md` for Float32 results.
public enum Tolerance {
    public static let forward: (atol: Float, rtol: Float) = (1e-5, 1e-4)
    public static let gradient: (atol: Float, rtol: Float) = (1e-4, 1e-3)
    public static let exact: (atol: Float, rtol: Float) = (0, 0)
}

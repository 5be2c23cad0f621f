/// A small, fast, seeded random number generator (SplitMix64) whose sequence is
/// the same on every platform and Swift version, so shuffles and synthetic data
/// are reproducible from a seed.
///
/// `Array.shuffle(using:)` is not used for shuffling because its algorithm is not
/// promised to stay the same across standard library versions; ``shuffle(_:)`` is.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The seed of pass (epoch) `pass` of a run seeded with `seed`: the
    /// `(pass + 1)`-th value of `SeededGenerator(seed: seed)`, reached in O(1)
    /// (SplitMix64's state advances by a constant per value, so it jumps there).
    ///
    /// The mixing is part of the API: the same `(seed, pass)` gives the same
    /// value on every platform and in every release. Passes of one seed get
    /// unrelated seeds, and runs with neighbouring seeds share no pass (with
    /// `seed + pass`, run `s` pass `k + 1` would be run `s + 1` pass `k`).
    /// Every `Int` is a pass; a negative one wraps to its bit pattern.
    ///
    /// ```swift
    /// let seed = SeededGenerator.passSeed(42, pass: 3)   // SeededGenerator(seed: 42)'s 4th value
    /// ```
    public static func passSeed(_ seed: UInt64, pass: Int) -> UInt64 {
        var generator = SeededGenerator(seed: seed &+ UInt64(truncatingIfNeeded: pass) &* 0x9E37_79B9_7F4A_7C15)
        return generator.next()
    }

    /// A uniform integer in `0..<bound` (Lemire's multiply-shift with rejection, so
    /// no modulo bias); 0 when `bound` is 1 or less.
    public mutating func next(below bound: Int) -> Int {
        guard bound > 1 else { return 0 }
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    /// A uniform Float in `0..<1` with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Shuffles `array` in place with the Fisher-Yates algorithm.
    ///
    /// - Complexity: O(n).
    public mutating func shuffle<Element>(_ array: inout [Element]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, next(below: i + 1))
        }
    }
}

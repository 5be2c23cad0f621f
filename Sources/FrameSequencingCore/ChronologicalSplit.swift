/// A series cut in time: the first frames for training, the rest for testing.
///
/// The two parts share the original storage (no copy). Windows made from `test`
/// read only test frames, except the `testContext` training frames deliberately
/// placed before them so that the first test frames can be predicted too.
public struct ChronologicalSplit: Sendable {
    /// Frames `0 ..< trainCount`.
    public let train: FrameStack
    /// Frames `trainCount - testContext ..< count`.
    public let test: FrameStack
    /// How many of `test`'s leading frames are training frames lent as context.
    public let testContext: Int

    /// The number of genuine test frames (excluding the context).
    public var testCount: Int { test.count - testContext }
}

extension FrameStack {
    /// Splits the series after `trainCount` frames: 400 frames with `trainCount: 350`
    /// give 350 training frames and 50 test frames.
    ///
    /// - Parameters:
    ///   - trainCount: frames in the training part, in `1 ..< count`.
    ///   - testContext: training frames to prepend to the test part (default 0, so
    ///     no test window reads a training frame). With windows of length `T` and
    ///     sampling rate `r`, `T * r` makes every test frame the target of exactly
    ///     one `.frameAfter(steps: 1)` window, while no target is a training frame.
    /// - Throws: `invalidArgument` for counts outside their ranges.
    public func split(trainCount: Int, testContext: Int = 0) throws -> ChronologicalSplit {
        guard trainCount >= 1 && trainCount < count else {
            throw FrameSequencingError.invalidArgument(
                name: "trainCount", expected: "a value in 1..<\(count) (both parts non-empty)", actual: "\(trainCount)")
        }
        guard testContext >= 0 && testContext <= trainCount else {
            throw FrameSequencingError.invalidArgument(
                name: "testContext", expected: "a value in 0...\(trainCount)", actual: "\(testContext)")
        }
        return ChronologicalSplit(
            train: try frames(0 ..< trainCount), test: try frames(trainCount - testContext ..< count),
            testContext: testContext)
    }

    /// Splits the series so the last `testFraction` of frames (rounded up, as
    /// scikit-learn rounds a test fraction) are for testing: 400 frames with
    /// `testFraction: 0.125` give 350 and 50.
    ///
    /// - Throws: `invalidArgument` unless both parts get at least one frame.
    public func split(testFraction: Double, testContext: Int = 0) throws -> ChronologicalSplit {
        guard testFraction > 0 && testFraction < 1 else {
            throw FrameSequencingError.invalidArgument(
                name: "testFraction", expected: "a fraction strictly between 0 and 1", actual: "\(testFraction)")
        }
        let testCount = Int((testFraction * Double(count)).rounded(.up))
        return try split(trainCount: count - testCount, testContext: testContext)
    }
}

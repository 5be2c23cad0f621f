import Foundation
import FrameSequencing

/// Seeded synthetic data shared by the test targets.
public enum TestData {
    /// `count` frames of `shape` whose values are distinct per (frame, element), so a
    /// misplaced frame or element is visible: `frame * 1000 + element % 1000`.
    public static func labelledFrames(count: Int, height: Int, width: Int, channels: Int) throws -> FrameStack {
        let shape = try FrameShape(height: height, width: width, channels: channels)
        var values = [Float](repeating: 0, count: count * shape.featureCount)
        for frame in 0 ..< count {
            for i in 0 ..< shape.featureCount {
                values[frame * shape.featureCount + i] = Float(frame * 1000 + i % 1000)
            }
        }
        return try FrameStack(stacked: values, frameShape: shape)
    }

    /// `count` random byte values from a seeded generator.
    public static func randomBytes(count: Int, seed: UInt64) -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        return (0 ..< count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    }

    /// A tensor of `dimensions` with values drawn uniformly from `range` by a seeded generator.
    public static func randomTensor(_ dimensions: [Int], seed: UInt64, range: ClosedRange<Float> = -1 ... 1) throws -> Tensor {
        var generator = SeededGenerator(seed: seed)
        let count = dimensions.reduce(1, *)
        return try Tensor(shape: Shape(dimensions), scalars: (0 ..< count).map { _ in Float.random(in: range, using: &generator) })
    }

    /// A fresh empty directory under the system temporary directory.
    public static func temporaryDirectory(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "frameseq-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

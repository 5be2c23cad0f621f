import FrameSequencing
import XCTest

/// Random flips, transpose and time reversal of training windows: each
/// transform checked pixel by pixel against its definition, time reversal
/// against the windows of the series run backwards, and the draws for
/// determinism and balance.
final class WindowAugmentationTests: XCTestCase {
    /// `count` frames of `height` x `width` x `channels`, every value distinct:
    /// frame t, pixel (y, x), channel c holds t * 1000 + y * 100 + x * 10 + c.
    func frames(_ count: Int, height: Int = 3, width: Int = 3, channels: Int = 2) throws -> FrameStack {
        var values: [Float] = []
        for t in 0 ..< count {
            for y in 0 ..< height {
                for x in 0 ..< width {
                    for c in 0 ..< channels { values.append(Float(t * 1000 + y * 100 + x * 10 + c)) }
                }
            }
        }
        return try FrameStack(stacked: values, frameShape: try FrameShape(height: height, width: width, channels: channels))
    }

    /// Batch 0 of `windows` (all of them), transformed by `transforms`.
    func transformed(_ windows: FrameWindows, _ transforms: [WindowTransform], layout: SequenceLayout) throws -> WindowBatch {
        var batch = try windows.batches(size: windows.count).batch(0, layout: layout)
        try batch.transform(transforms, of: windows)
        return batch
    }

    func testFlipsAndTransposeMovePixelsAsDefined() throws {
        let stack = try frames(6, height: 3, width: 3, channels: 2)
        let windows = try stack.windows(WindowParameters(sequenceLength: 3, target: .nextFrames(count: 2)))
        let plain = try windows.batches(size: windows.count).batch(0, layout: .spatial)
        var seen = Set<[Float]>()
        for bits in 0 ..< 8 {
            let draw = WindowTransform(horizontalFlip: bits & 1 != 0, verticalFlip: bits & 2 != 0, transpose: bits & 4 != 0)
            let batch = try transformed(windows, Array(repeating: draw, count: windows.count), layout: .spatial)
            for (name, original, result) in [("inputs", plain.inputs, batch.inputs), ("targets", plain.targets!, batch.targets!)] {
                let d = original.dimensions   // (B, T, 3, 3, 2)
                for b in 0 ..< d[0] {
                    for t in 0 ..< d[1] {
                        for y in 0 ..< 3 {
                            for x in 0 ..< 3 {
                                var (sy, sx) = draw.transpose ? (x, y) : (y, x)
                                if draw.horizontalFlip { sx = 2 - sx }
                                if draw.verticalFlip { sy = 2 - sy }
                                for c in 0 ..< 2 {
                                    XCTAssertEqual(try result.scalar(at: [b, t, y, x, c]), try original.scalar(at: [b, t, sy, sx, c]),
                                                   "\(name) \(draw) at \([b, t, y, x, c])")
                                }
                            }
                        }
                    }
                }
            }
            seen.insert(batch.inputs.scalars)
        }
        XCTAssertEqual(seen.count, 8, "the three choices give the 8 orientations of a square")
    }

    func testTimeReversalIsTheWindowOfTheSeriesRunBackwards() throws {
        let count = 12
        let stack = try frames(count, height: 2, width: 3, channels: 1)
        var values: [Float] = []
        for t in (0 ..< count).reversed() {
            for y in 0 ..< 2 {
                for x in 0 ..< 3 { values.append(Float(t * 1000 + y * 100 + x * 10)) }
            }
        }
        let backwards = try FrameStack(stacked: values, frameShape: stack.frameShape)
        let reverse = WindowTransform(timeReversal: true)
        // (target, frames a window spans beyond its inputs)
        for (target, beyond) in [(WindowTarget.shifted, 1), (.nextFrames(count: 3), 3), (.frameAfter(steps: 1), 1), (.offset(4), 1)] {
            for layout in [SequenceLayout.spatial, .batchMajor, .timeMajor] {
                let parameters = WindowParameters(sequenceLength: 4, target: target)
                let windows = try stack.windows(parameters), mirrored = try backwards.windows(parameters)
                let batch = try transformed(windows, Array(repeating: reverse, count: windows.count), layout: layout)
                // Window i spans frames i ..< i + 4 + beyond; backwards, that is window count - (4 + beyond) - i.
                let expected = try mirrored.batches(size: mirrored.count).batch(0, layout: layout)
                let order = (0 ..< windows.count).map { windows.count - 1 - $0 }
                XCTAssertEqual(windows.count, count - 4 - beyond + 1)
                XCTAssertEqual(expected.inputs.dimensions, batch.inputs.dimensions)
                for (i, j) in order.enumerated() {
                    XCTAssertEqual(try window(batch.inputs, i, layout: layout, count: windows.count),
                                   try window(expected.inputs, j, layout: layout, count: windows.count), "\(target) \(layout) inputs \(i)")
                    let timeMajorTargets = layout == .timeMajor && target != .frameAfter(steps: 1) && target != .offset(4)
                    XCTAssertEqual(try window(batch.targets!, i, layout: timeMajorTargets ? .timeMajor : .spatial, count: windows.count),
                                   try window(expected.targets!, j, layout: timeMajorTargets ? .timeMajor : .spatial, count: windows.count),
                                   "\(target) \(layout) targets \(i)")
                }
            }
        }
    }

    /// Window `i`'s values of a batch tensor, in time order.
    func window(_ tensor: Tensor, _ i: Int, layout: SequenceLayout, count: Int) throws -> [Float] {
        let values = tensor.scalars
        guard layout == .timeMajor else {
            let per = values.count / count
            return Array(values[i * per ..< (i + 1) * per])
        }
        let steps = tensor.dimensions[0], features = values.count / (steps * count)
        var result: [Float] = []
        for t in 0 ..< steps {
            let start = (t * count + i) * features
            result += values[start ..< start + features]
        }
        return result
    }

    func testFlippedAndReversedTogetherEqualsEachInTurn() throws {
        let stack = try frames(10, height: 3, width: 3, channels: 1)
        let windows = try stack.windows(WindowParameters(sequenceLength: 3, target: .shifted))
        let both = WindowTransform(horizontalFlip: true, transpose: true, timeReversal: true)
        let together = try transformed(windows, Array(repeating: both, count: windows.count), layout: .batchMajor)
        var inTurn = try transformed(windows, Array(repeating: WindowTransform(timeReversal: true), count: windows.count),
                                     layout: .batchMajor)
        try inTurn.transform(Array(repeating: WindowTransform(horizontalFlip: true, transpose: true), count: windows.count),
                             of: windows)
        XCTAssertEqual(together.inputs.scalars, inTurn.inputs.scalars)
        XCTAssertEqual(together.targets!.scalars, inTurn.targets!.scalars)
        XCTAssertNotEqual(together.inputs.scalars, try windows.batches(size: windows.count).batch(0).inputs.scalars)
    }

    func testDrawsAreSeededPerWindowAndPassAndBalanced() {
        let all = WindowAugmentation.all
        XCTAssertEqual(all.draw(window: 5, pass: 2, seed: 7), all.draw(window: 5, pass: 2, seed: 7))
        var counts = [WindowTransform: Int]()
        let draws = 16_000
        for window in 0 ..< draws { counts[all.draw(window: window, pass: 3, seed: 11), default: 0] += 1 }
        XCTAssertEqual(counts.count, 16, "2 flips x transpose x reversal")
        // 1000 expected each; 5 standard deviations of a binomial(16000, 1/16) is 153.
        for (draw, n) in counts { XCTAssertLessThan(abs(n - 1000), 153, "\(draw): \(n)") }
        let passes = (0 ..< 64).map { all.draw(window: $0, pass: 0, seed: 11) } != (0 ..< 64).map { all.draw(window: $0, pass: 1, seed: 11) }
        XCTAssertTrue(passes, "another pass, other draws")
        let flipsOnly = WindowAugmentation(horizontalFlip: true)
        for window in 0 ..< 100 {
            let draw = flipsOnly.draw(window: window, pass: 0, seed: 1)
            XCTAssertFalse(draw.verticalFlip || draw.transpose || draw.timeReversal, "only what is on")
        }
    }

    func testWhatCannotBeAugmentedIsRefused() throws {
        let wide = try frames(10, height: 2, width: 3, channels: 1)
        let windows = try wide.windows(WindowParameters(sequenceLength: 3, target: .shifted))
        XCTAssertThrowsError(try WindowAugmentation(transpose: true).validate(for: windows)) { error in
            XCTAssertTrue("\(error)".contains("square frames") && "\(error)".contains("2 x 3"), "\(error)")
        }
        XCTAssertNoThrow(try WindowAugmentation(horizontalFlip: true, verticalFlip: true, timeReversal: true).validate(for: windows))
        let gap = try wide.windows(WindowParameters(sequenceLength: 3, target: .frameAfter(steps: 2)))
        XCTAssertThrowsError(try WindowAugmentation(timeReversal: true).validate(for: gap)) { error in
            XCTAssertTrue("\(error)".contains("frameAfter(steps: 2)"), "\(error)")
        }
        XCTAssertNoThrow(try WindowAugmentation(horizontalFlip: true).validate(for: gap))
        let rows = try wide.windows(WindowParameters(sequenceLength: 3), targets: try Tensor(shape: [10, 1]))
        XCTAssertThrowsError(try WindowAugmentation(horizontalFlip: true).validate(for: rows))
        var batch = try windows.batches(size: 4).batch(0)
        XCTAssertThrowsError(try batch.transform([WindowTransform(horizontalFlip: true)], of: windows)) { error in
            XCTAssertTrue("\(error)".contains("one per window"), "\(error)")
        }
    }
}

import FrameSequencing
import TestSupport
import XCTest

final class PaddingTests: XCTestCase {
    /// Calls that name no ends keep what they meant before padding had to be
    /// named: `.pre` for padSequences (Keras), `.post` for PaddedBatches (PyTorch).
    @available(*, deprecated, message: "exercises the deprecated padding defaults")
    func testTheDeprecatedDefaultsAreTheOldOnes() throws {
        let sequences = [try Tensor(shape: [3], scalars: [1, 2, 3]), try Tensor(shape: [1], scalars: [4])]
        XCTAssertEqual(try padSequences(sequences, length: .fixed(2)),
                       try padSequences(sequences, length: .fixed(2), padding: .pre, truncating: .pre))
        XCTAssertEqual(try padSequences(sequences, length: .fixed(2), padding: .post),
                       try padSequences(sequences, length: .fixed(2), padding: .post, truncating: .pre))
        XCTAssertEqual(try padSequences([[1, 2, 3], [4]], length: .fixed(2), truncating: .post),
                       try padSequences([[1, 2, 3], [4]], length: .fixed(2), padding: .pre, truncating: .post))
        XCTAssertNotEqual(try padSequences(sequences, length: .fixed(2)).values,
                          try padSequences(sequences, length: .fixed(2), padding: .post, truncating: .post).values)
        let batches = try PaddedBatches(sequences, size: 2, length: .fixed(2))
        XCTAssertEqual(try batches.batch(at: 0), try padSequences(sequences, length: .fixed(2), padding: .post, truncating: .post))
    }

    let sequences: [[Float]] = [[1, 2, 3], [4, 5, 6, 7, 8], [9]]

    func testKerasSemanticsWithMaskAndLengths() throws {
        let pre = try padSequences(sequences, length: .fixed(4), padding: .pre, truncating: .pre)   // Keras defaults: pre, pre
        XCTAssertEqual(pre.values.scalars, [0, 1, 2, 3, 5, 6, 7, 8, 0, 0, 0, 9])
        XCTAssertEqual(pre.mask.scalars, [0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1])
        XCTAssertEqual(pre.lengths, [3, 4, 1])
        let post = try padSequences(sequences, length: .fixed(4), padding: .post, truncating: .post, value: -1)
        XCTAssertEqual(post.values.scalars, [1, 2, 3, -1, 4, 5, 6, 7, 9, -1, -1, -1])
        XCTAssertEqual(post.mask.scalars, [1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0])
        XCTAssertEqual(try padSequences(sequences, padding: .pre, truncating: .pre).values.dimensions, [3, 5])
        let shortest = try padSequences(sequences, length: .shortest, padding: .pre, truncating: .post)
        XCTAssertEqual(shortest.values.scalars, [1, 4, 9])
    }

    func testMultiFeatureSequencesAndEmptyOnes() throws {
        let a = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let empty = try Tensor(shape: [0, 3])
        let padded = try padSequences([a, empty], padding: .post, truncating: .pre)
        XCTAssertEqual(padded.values.dimensions, [2, 2, 3])
        XCTAssertEqual(padded.values.scalars, [1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(padded.lengths, [2, 0])
    }

    func testPaddingErrors() throws {
        XCTAssertThrowsError(try padSequences([] as [Tensor], padding: .pre, truncating: .pre))
        XCTAssertThrowsError(try padSequences(sequences, length: .fixed(0), padding: .pre, truncating: .pre))
        let a = try Tensor(shape: [2, 3])
        let b = try Tensor(shape: [4, 2])
        XCTAssertThrowsError(try padSequences([a, b], padding: .pre, truncating: .pre)) { error in
            guard case let .shapeMismatch(context, _, actual)? = error as? FrameSequencingError else { return XCTFail() }
            XCTAssertEqual(actual, [4, 2])
            XCTAssertEqual(context, "Sequence 1")
        }
        XCTAssertThrowsError(try padSequences([Tensor(shape: [])], padding: .pre, truncating: .pre))
    }
}

final class SplitAndNormalizationTests: XCTestCase {
    func testChronologicalSplitByCountAndFraction() throws {
        let series = try TestData.labelledFrames(count: 400, height: 1, width: 1, channels: 1)
        let split = try series.split(trainCount: 350)
        XCTAssertEqual(split.train.count, 350)
        XCTAssertEqual(split.test.count, 50)
        XCTAssertEqual(try split.test.frame(at: 0).scalars, [350_000])
        let byFraction = try series.split(testFraction: 0.125)
        XCTAssertEqual(byFraction.train.count, 350)
        // No test window reads a training frame unless context is asked for.
        let testWindows = try split.test.windows(WindowParameters(sequenceLength: 10, target: .frameAfter(steps: 1)))
        XCTAssertEqual(testWindows.count, 40)
        XCTAssertGreaterThanOrEqual(try testWindows.inputs().scalars.min()!, 350_000)
        let withContext = try series.split(trainCount: 350, testContext: 9)
        let contextWindows = try withContext.test.windows(WindowParameters(sequenceLength: 10, target: .frameAfter(steps: 1)))
        XCTAssertEqual(contextWindows.count, 49)   // every test frame but the first is a target
        XCTAssertEqual(try contextWindows.targets()!.scalars.min(), 350_000 + 1000)
        XCTAssertEqual(withContext.testCount, 50)
        let full = try series.split(trainCount: 350, testContext: 10)
        let fullWindows = try full.test.windows(WindowParameters(sequenceLength: 10, target: .frameAfter(steps: 1)))
        XCTAssertEqual(fullWindows.count, 50)   // T * r context: every test frame is a target once
        XCTAssertEqual(try fullWindows.targets()!.scalars, (350 ..< 400).map { Float($0 * 1000) })
        XCTAssertThrowsError(try series.split(trainCount: 400))
        XCTAssertThrowsError(try series.split(trainCount: 0))
        XCTAssertThrowsError(try series.split(trainCount: 10, testContext: 11))
        XCTAssertThrowsError(try series.split(testFraction: 1))
        XCTAssertThrowsError(try series.split(testFraction: .nan))
    }

    func testMinMaxAndZScoreFitOnTrainingAndInvert() throws {
        let shape = try FrameShape(height: 1, width: 2, channels: 2)
        // Channel 0 holds 0, 10, 20, ...; channel 1 holds 100 constant.
        let values: [Float] = (0 ..< 5).flatMap { i -> [Float] in [Float(i * 10), 100, Float(i * 10 + 5), 100] }
        let series = try FrameStack(stacked: values, frameShape: shape)
        let split = try series.split(trainCount: 3)

        let minMax = try Normalization.fit(split.train, method: .minMax(), perChannel: true)
        XCTAssertEqual(minMax.center, [0, 100])
        let train = try minMax.apply(to: split.train).tensor().scalars
        XCTAssertEqual(train.enumerated().filter { $0.offset % 2 == 0 }.map(\.element).max(), 1)
        XCTAssertEqual(train.enumerated().filter { $0.offset % 2 == 1 }.map(\.element), [0, 0, 0, 0, 0, 0])
        // Test frames use the training statistics (values above 1 are expected).
        let test = try minMax.apply(to: split.test.tensor())
        XCTAssertEqual(try test.scalar(at: [0, 0, 0, 0]), 30.0 / 25.0, accuracy: 1e-6)
        let restored = try minMax.invert(test)
        XCTAssertEqual(compare("restored", actual: restored.scalars, expected: try split.test.tensor().scalars, atol: 1e-4).passed, true)

        let z = try Normalization.fit(split.train, method: .zScore)
        let normalized = try z.apply(to: split.train.tensor()).scalars
        let mean = normalized.reduce(0, +) / Float(normalized.count)
        let variance = normalized.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(normalized.count)
        XCTAssertEqual(mean, 0, accuracy: 1e-5)
        XCTAssertEqual(variance, 1, accuracy: 1e-4)
        let back = try z.invert(z.apply(to: series.tensor()))
        XCTAssertTrue(compare("z", actual: back.scalars, expected: try series.tensor().scalars, atol: 1e-3, rtol: 1e-5).passed)
    }

    func testNormalizationErrors() throws {
        let shape = try FrameShape(height: 1, width: 1, channels: 3)
        let withNaN = try FrameStack(stacked: [1, 2, .nan, 4, 5, 6], frameShape: shape)
        XCTAssertThrowsError(try Normalization.fit(withNaN, method: .zScore)) { error in
            guard case let .nonFinite(_, index, _)? = error as? FrameSequencingError else { return XCTFail("\(error)") }
            XCTAssertEqual(index, 2)
        }
        let clean = try FrameStack(stacked: [1, 2, 3, 4, 5, 6], frameShape: shape)
        XCTAssertThrowsError(try Normalization.fit(clean, method: .minMax(lower: 1, upper: 1)))
        let perChannel = try Normalization.fit(clean, method: .zScore, perChannel: true)
        XCTAssertThrowsError(try perChannel.apply(to: Tensor(shape: [4])))
    }
}

final class RollingWindowTests: XCTestCase {
    func testLatestWindowEqualsTheLastWindowOverFramesSoFar() throws {
        let series = try TestData.labelledFrames(count: 30, height: 2, width: 3, channels: 1)
        var stream = try RollingWindow(frameShape: series.frameShape, sequenceLength: 4, samplingRate: 3)
        for n in 0 ..< 30 {
            try stream.append(series.frame(at: n))
            let prefix = try series.frames(0 ..< n + 1)
            if n + 1 < 10 {
                XCTAssertNil(try stream.latest())
                continue
            }
            let windows = try prefix.windows(WindowParameters(sequenceLength: 4, samplingRate: 3, startIndex: n + 1 - 10))
            XCTAssertEqual(try stream.latest()?.scalars, try windows.last!.inputs().scalars)
        }
        XCTAssertEqual(try stream.latest(layout: .spatial)?.dimensions, [1, 4, 2, 3, 1])
        XCTAssertEqual(try stream.latest(layout: .timeMajor)?.dimensions, [4, 1, 6])
        XCTAssertEqual(try stream.latest(layout: .timeMajor)?.scalars, try stream.latest()?.scalars, "one sequence: same order")
        stream.reset()
        XCTAssertNil(try stream.latest())
    }

    func testByteFramesAndErrors() throws {
        let shape = try FrameShape(height: 1, width: 2, channels: 1)
        var stream = try RollingWindow(frameShape: shape, sequenceLength: 2)
        try stream.append([255, 0] as [UInt8], scale: 1.0 / 255)
        try stream.append([0, 51] as [UInt8], scale: 1.0 / 255)
        // Bytes read as Float(byte) * scale, the same product every path computes.
        XCTAssertEqual(try stream.latest()?.scalars, [255, 0, 0, 51].map { Float($0) * (1.0 / 255) })
        XCTAssertThrowsError(try stream.append([1, 2, 3] as [Float]))
        XCTAssertThrowsError(try stream.append(Tensor(shape: [2, 1, 1])))
        XCTAssertThrowsError(try RollingWindow(frameShape: shape, sequenceLength: 0))
        XCTAssertThrowsError(try RollingWindow(frameShape: shape, sequenceLength: Int.max, samplingRate: 2))
    }
}

final class PaddedBatchesTests: XCTestCase {
    func testEachBatchIsPaddedToItsOwnLongestOrShortest() throws {
        let lengths = [3, 9, 4, 2, 7]
        let sequences = try lengths.map { n in try Tensor(shape: [n, 2], scalars: (0 ..< 2 * n).map(Float.init)) }
        let longest = try PaddedBatches(sequences, size: 2, padding: .post, truncating: .post)
        XCTAssertEqual(longest.count, 3)
        XCTAssertEqual(longest.map { $0.values.dimensions }, [[2, 9, 2], [2, 4, 2], [1, 7, 2]])
        XCTAssertEqual(longest[0].lengths, [3, 9])
        XCTAssertEqual(longest[0], try padSequences(Array(sequences[0 ..< 2]), padding: .post, truncating: .post))
        let shortest = try PaddedBatches(sequences, size: 2, length: .shortest, padding: .post, truncating: .post)
        XCTAssertEqual(shortest.map { $0.values.dimensions[1] }, [3, 2, 7])
        let shuffled = try PaddedBatches(sequences, size: 2, padding: .post, truncating: .post, shuffleSeed: 5)
        XCTAssertEqual(shuffled.order.sorted(), [0, 1, 2, 3, 4])
        XCTAssertEqual(shuffled[0].lengths, try shuffled.members(of: 0).map { lengths[$0] })
        XCTAssertThrowsError(try shuffled.batch(at: 3))
        XCTAssertThrowsError(try PaddedBatches([], size: 2, padding: .post, truncating: .post))
        XCTAssertThrowsError(try PaddedBatches(sequences, size: 0, padding: .post, truncating: .post))
        XCTAssertThrowsError(try PaddedBatches(sequences, size: 2, length: .fixed(0), padding: .post, truncating: .post))
        XCTAssertThrowsError(try PaddedBatches(sequences + [Tensor(shape: [4, 3])], size: 2, padding: .post, truncating: .post)) { error in
            guard case .shapeMismatch? = error as? FrameSequencingError else { return XCTFail("\(error)") }
        }
    }
}

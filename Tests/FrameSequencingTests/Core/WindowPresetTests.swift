import FrameSequencing
import TestSupport
import XCTest

/// The cases people ask about, by name, with the shapes the issue states.
final class WindowPresetTests: XCTestCase {
    let sixtyFour = try! FrameShape(height: 64, width: 64, channels: 1)

    func frames(_ count: Int) throws -> FrameStack {
        try TestData.labelledFrames(count: count, height: 64, width: 64, channels: 1)
    }

    func testSeedShapes() throws {
        let series = try frames(50)
        XCTAssertEqual(try series.wholeSequence().inputs().dimensions, [1, 50, 4096])
        XCTAssertEqual(try series.windows(.overlapping(length: 10, overlap: 5)).inputs().dimensions, [9, 10, 4096])
        XCTAssertEqual(try series.windows(.nonOverlapping(length: 10)).inputs().dimensions, [5, 10, 4096])
        XCTAssertEqual(try series.windows(.nonOverlapping(length: 10)).inputs(layout: .spatial).dimensions, [5, 10, 64, 64, 1])
        XCTAssertEqual(try series.windows(.nonOverlapping(length: 10)).inputs(layout: .timeMajor).dimensions, [10, 5, 4096])
    }

    func testKerasDocumentationExample() throws {
        // keras.utils.timeseries_dataset_from_array docstring: indices 0...98, length 10,
        // rate 2, stride 3: first [0 2 ... 18], second [3 5 ... 21], last [78 80 ... 96].
        let series = try TestData.labelledFrames(count: 99, height: 1, width: 1, channels: 1)
        let windows = try series.windows(WindowParameters(sequenceLength: 10, sequenceStride: 3, samplingRate: 2))
        XCTAssertEqual(Array(windows.first!.frameIndices), Array(stride(from: 0, through: 18, by: 2)))
        XCTAssertEqual(Array(windows[1].frameIndices), Array(stride(from: 3, through: 21, by: 2)))
        XCTAssertEqual(Array(windows.last!.frameIndices), Array(stride(from: 78, through: 96, by: 2)))
    }

    func testNonOverlappingPadAndMaskKeepsTheShortLastWindow() throws {
        let series = try TestData.labelledFrames(count: 53, height: 2, width: 2, channels: 1)
        XCTAssertEqual(try series.windows(.nonOverlapping(length: 10)).count, 5)
        let padded = try series.windows(.nonOverlapping(length: 10, shortWindows: .padAndMask(value: -1)))
        XCTAssertEqual(padded.count, 6)
        XCTAssertEqual(padded.lengths, [10, 10, 10, 10, 10, 3])
        XCTAssertEqual(Array(padded[5].frameIndices), [50, 51, 52])
        let last = try padded.batches(size: 4).batch(1)
        XCTAssertEqual(last.lengths, [10, 3])
        XCTAssertEqual(last.mask?.scalars, [Float](repeating: 1, count: 10) + [1, 1, 1] + [Float](repeating: 0, count: 7))
        let values = try last.inputs.slice(1 ..< 2).scalars
        XCTAssertEqual(Array(values.prefix(12)), try (50 ... 52).flatMap { try series.frame(at: $0).scalars })
        XCTAssertEqual(Array(values.dropFirst(12)), [Float](repeating: -1, count: 7 * 4))
        // Overlapping windows pad only as many windows as needed to reach the last frame.
        let overlapping = try series.windows(.overlapping(length: 10, overlap: 5, shortWindows: .padAndMask(value: 0)))
        XCTAssertEqual(overlapping.lengths.suffix(2), [10, 8])
        XCTAssertEqual(overlapping.last.map { Array($0.frameIndices).last }, 52)
        // Nothing to pad: the same windows as dropping.
        let exact = try frames(50).windows(.nonOverlapping(length: 10, shortWindows: .padAndMask(value: 0)))
        XCTAssertEqual(exact.count, 5)
        XCTAssertFalse(exact.hasPadding)
    }

    func testForecastingTargets() throws {
        let series = try TestData.labelledFrames(count: 30, height: 1, width: 2, channels: 1)
        let next = try series.windows(WindowParameters(sequenceLength: 10, target: .frameAfter(steps: 1)))
        XCTAssertEqual(next.count, 20)
        XCTAssertEqual(Array(next[0].targetFrameIndices), [10])
        XCTAssertEqual(try next.targets()?.dimensions, [20, 2])
        XCTAssertEqual(try next.targets(layout: .spatial)?.dimensions, [20, 1, 2, 1])
        let horizon = try series.windows(WindowParameters(sequenceLength: 10, samplingRate: 2, target: .frameAfter(steps: 3)))
        XCTAssertEqual(Array(horizon[0].targetFrameIndices), [24])
        let nextK = try series.windows(WindowParameters(sequenceLength: 10, target: .nextFrames(count: 5)))
        XCTAssertEqual(nextK.count, 16)
        XCTAssertEqual(Array(nextK[0].targetFrameIndices), [10, 11, 12, 13, 14])
        XCTAssertEqual(try nextK.targets(layout: .timeMajor)?.dimensions, [5, 16, 2])
        let shifted = try series.windows(WindowParameters(sequenceLength: 10, target: .shifted))
        XCTAssertEqual(shifted.count, 20)
        XCTAssertEqual(Array(shifted[3].targetFrameIndices), Array(4 ... 13))
        // Keras's offset = T * r is the same pairing as the frame after the window.
        let keras = try series.windows(WindowParameters(sequenceLength: 10, target: .offset(10)))
        XCTAssertEqual(try keras.targets(), try next.targets())
    }

    func testTargetsNeverReadPastEndIndexExceptKerasOffsets() throws {
        let series = try TestData.labelledFrames(count: 30, height: 1, width: 1, channels: 1)
        let bounded = try series.windows(WindowParameters(sequenceLength: 5, endIndex: 20, target: .frameAfter(steps: 1)))
        XCTAssertEqual(bounded.compactMap { $0.targetFrameIndices.max() }.max(), 19)
        let keras = try series.windows(WindowParameters(sequenceLength: 5, endIndex: 20, target: .offset(5)))
        XCTAssertEqual(keras.count, 16)   // min(20 - 4, 30 - 5), as Keras computes it
        XCTAssertEqual(keras.compactMap { $0.targetFrameIndices.max() }.max(), 20)
    }

    func testBatchBufferIsReusedWithoutReallocation() throws {
        let windows = try frames(40).windows(WindowParameters(sequenceLength: 5, target: .frameAfter(steps: 1)))
        let batches = try windows.batches(size: 8)
        var buffer = try batches.makeBuffer()
        try batches.fill(0, into: &buffer)
        let address = buffer.inputs.withUnsafeBufferPointer { $0.baseAddress }
        for index in batches.indices {
            try batches.fill(index, into: &buffer)
            XCTAssertEqual(buffer.inputs.withUnsafeBufferPointer { $0.baseAddress }, address)
        }
        XCTAssertEqual(buffer.count, 3)   // 35 windows: the last batch holds 3
        XCTAssertEqual(buffer.inputs.dimensions, [3, 5, 4096])
        // A copy kept by the caller is not overwritten by the next fill (value semantics).
        try batches.fill(0, into: &buffer)
        let kept = buffer.inputs
        try batches.fill(1, into: &buffer)
        XCTAssertEqual(kept, try windows.inputs().slice(0 ..< 8))
        XCTAssertThrowsError(try batches.fill(5, into: &buffer))
    }

    func testLargeFillsUseTheParallelPathAndMatchSerialCopies() throws {
        // 8 x 12 x 12288 values is over a million: split across threads.
        let series = try TestData.labelledFrames(count: 30, height: 64, width: 64, channels: 3)
        let windows = try series.windows(WindowParameters(sequenceLength: 12, sequenceStride: 2))
        for layout in [SequenceLayout.batchMajor, .timeMajor] {
            let batch = try windows.batches(size: 8).batch(0, layout: layout)
            let inputs = layout == .timeMajor ? try transposeFirstTwo(batch.inputs) : batch.inputs
            let expected = try (0 ..< 8).flatMap { try windows[$0].inputs().scalars }
            XCTAssertEqual(inputs.scalars, expected)
        }
    }

    func testByteFramesAreScaledWhenCopied() throws {
        let shape = try FrameShape(height: 3, width: 7, channels: 1)   // 21: not a multiple of 16
        let bytes = TestData.randomBytes(count: 21 * 6, seed: 3)
        let series = try FrameStack(stacked: bytes, frameShape: shape, scale: 1.0 / 255)
        let windows = try series.windows(WindowParameters(sequenceLength: 4))
        let expected = bytes[21 ..< 21 * 5].map { Float($0) * (1.0 / 255) }
        XCTAssertEqual(try windows[1].inputs().scalars, expected)
    }

    func testInvalidParametersThrowTypedErrors() throws {
        let series = try TestData.labelledFrames(count: 10, height: 1, width: 1, channels: 1)
        func expectError(_ p: WindowParameters, _ check: (FrameSequencingError) -> Bool, line: UInt = #line) {
            XCTAssertThrowsError(try series.windows(p), line: line) { error in
                guard let e = error as? FrameSequencingError, check(e) else {
                    return XCTFail("unexpected \(error)", line: line)
                }
                XCTAssertFalse(e.description.isEmpty)
            }
        }
        func invalid(_ e: FrameSequencingError) -> Bool { if case .invalidArgument = e { return true }; return false }
        func tooLong(_ e: FrameSequencingError) -> Bool { if case .windowLongerThanData = e { return true }; return false }
        expectError(WindowParameters(sequenceLength: 0), invalid)
        expectError(WindowParameters(sequenceLength: -3), invalid)
        expectError(WindowParameters(sequenceLength: 2, sequenceStride: 0), invalid)
        expectError(WindowParameters(sequenceLength: 2, samplingRate: -1), invalid)
        expectError(WindowParameters(sequenceLength: 2, startIndex: 10), invalid)
        expectError(WindowParameters(sequenceLength: 2, startIndex: -1), invalid)
        expectError(WindowParameters(sequenceLength: 2, startIndex: 5, endIndex: 5), invalid)
        expectError(WindowParameters(sequenceLength: 2, endIndex: 11), invalid)
        expectError(WindowParameters(sequenceLength: 11), tooLong)
        expectError(WindowParameters(sequenceLength: 4, samplingRate: 4), tooLong)
        expectError(WindowParameters(sequenceLength: 3, startIndex: 8), tooLong)
        expectError(WindowParameters(sequenceLength: 10, target: .frameAfter(steps: 1)), tooLong)
        expectError(WindowParameters(sequenceLength: 2, target: .frameAfter(steps: 0)), invalid)
        expectError(WindowParameters(sequenceLength: 2, target: .nextFrames(count: 0)), invalid)
        expectError(WindowParameters(sequenceLength: 2, target: .offset(-1)), invalid)
        expectError(WindowParameters(sequenceLength: 2, target: .offset(10)), tooLong)
        expectError(WindowParameters(sequenceLength: 2, target: .shifted, shortWindows: .padAndMask(value: 0)), invalid)
        // Sizes that overflow are refused, not trapped on.
        expectError(WindowParameters(sequenceLength: Int.max, samplingRate: Int.max), tooLong)
        expectError(WindowParameters(sequenceLength: 1, samplingRate: Int.max, target: .frameAfter(steps: Int.max)), tooLong)
        expectError(WindowParameters(sequenceLength: 1, samplingRate: Int.max, target: .nextFrames(count: 3)), tooLong)
        expectError(WindowParameters(sequenceLength: 2, samplingRate: Int.max / 2, target: .shifted), tooLong)
        XCTAssertThrowsError(try WindowParameters.overlapping(length: 5, overlap: 5))
        XCTAssertThrowsError(try WindowParameters.overlapping(length: 5, overlap: -1))
        // Keras refuses a stride at least the data length; one window is the useful answer.
        XCTAssertEqual(try series.windows(WindowParameters(sequenceLength: 3, sequenceStride: 50)).count, 1)
    }
}

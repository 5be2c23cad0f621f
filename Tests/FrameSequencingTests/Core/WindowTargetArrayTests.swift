import FrameSequencing
import TestSupport
import XCTest

/// A targets array beside the frames, as Keras's `timeseries_dataset_from_array(data,
/// targets, ...)`: the window whose first frame is `s` gets row `s`. Exact values are
/// checked against Keras itself by the `windows` fixtures; these tests cover the
/// shapes, layouts, padding and errors the fixtures do not reach.
final class WindowTargetArrayTests: XCTestCase {
    /// (N, trailing...) with distinct values: row r, element k holds `-(r * 1000 + k) - 1`,
    /// never a frame value of `TestData.labelledFrames` (those are >= 0).
    static func rows(_ n: Int, _ trailing: [Int]) throws -> Tensor {
        let size = trailing.reduce(1, *)
        return try Tensor(shape: Shape([n] + trailing),
                          scalars: (0 ..< n * size).map { Float(-((($0 / max(size, 1)) * 1000) + $0 % max(size, 1)) - 1) })
    }

    /// Row `r` of `targets` as a flat array.
    static func row(_ targets: Tensor, _ r: Int) throws -> [Float] {
        try targets.slice(r ..< r + 1).scalars
    }

    /// Seeded random (count, length, stride, rate, start, end, padding, row shape):
    /// every window's target is the row of its first frame, in the views, the
    /// materialized targets and the batches of every layout.
    func testEveryWindowGetsTheRowOfItsFirstFrame() throws {
        var g = SeededGenerator(seed: 21)
        let trailingShapes: [[Int]] = [[], [1], [3], [2, 3], [2, 2, 1]]
        var checked = 0
        for trial in 0 ..< 200 {
            let n = 2 + g.next(below: 30)
            let frames = try TestData.labelledFrames(count: n, height: 1 + g.next(below: 2), width: 2, channels: 1)
            var parameters = WindowPropertyTests.randomParameters(&g, frameCount: n)
            parameters.target = .none
            if g.next(below: 4) == 0 { parameters.shortWindows = .padAndMask(value: -0.5) }
            let trailing = trailingShapes[g.next(below: trailingShapes.count)]
            let targets = try Self.rows(n, trailing)
            let context = "trial \(trial): n \(n), \(parameters), rows \(trailing)"
            guard let windows = try? frames.windows(parameters) else {
                XCTAssertThrowsError(try frames.windows(parameters, targets: targets), context)
                continue
            }
            let paired = try frames.windows(parameters, targets: targets)
            XCTAssertEqual(paired.count, windows.count, context)      // the array never changes the windows
            XCTAssertTrue(paired.hasTargets, context)
            XCTAssertEqual(try paired.inputs(), try windows.inputs(), context)

            let all = try XCTUnwrap(try paired.targets(), context)
            XCTAssertEqual(all.dimensions, [paired.count] + trailing, context)
            for window in paired {
                let first = window.frameIndices[0]
                XCTAssertEqual(window.targetRow, first, context)
                XCTAssertEqual(window.targetFrameIndices, [], context)
                let target = try XCTUnwrap(try window.target(), context)
                XCTAssertEqual(target.dimensions, trailing, context)
                XCTAssertEqual(target.scalars, try Self.row(targets, first), context)
                XCTAssertEqual(try Self.row(all, window.index), try Self.row(targets, first), context)
                checked += 1
            }

            let size = 1 + g.next(below: 5)
            let batches = try paired.batches(size: size, shuffleSeed: UInt64(trial))
            for layout in [SequenceLayout.batchMajor, .timeMajor, .spatial] {
                var buffer = try batches.makeBuffer(layout: layout)
                XCTAssertEqual(batches.bufferShapes(layout: layout).targets, [min(size, paired.count)] + trailing, context)
                for index in batches.indices {
                    try batches.fill(index, into: &buffer)
                    let members = Array(batches[index])
                    let expected = try members.flatMap { try Self.row(targets, paired[$0].frameIndices[0]) }
                    let filled = try XCTUnwrap(buffer.targets, context)
                    XCTAssertEqual(filled.dimensions, [members.count] + trailing, "\(context) \(layout)")
                    XCTAssertEqual(filled.scalars, expected, "\(context) \(layout)")
                }
            }
        }
        XCTAssertGreaterThan(checked, 500)
    }

    /// Keras's own example 2 (temporal regression): `data[:-10]` with
    /// `targets=data[10:]` pairs the window of steps 0-9 with step 10: what
    /// `.offset(10)` gives on the whole series with windows ending by frame 30.
    func testKerasTemporalRegressionExampleEqualsTheOffsetTarget() throws {
        let data = try TestData.labelledFrames(count: 40, height: 1, width: 3, channels: 1)
        let values = try data.tensor()
        let inputs = try FrameStack(stacked: try values.slice(0 ..< 30))
        let targets = try values.slice(10 ..< 40).reshaped(to: [30, 3])
        let parameters = WindowParameters(sequenceLength: 10, sequenceStride: 2)
        let paired = try inputs.windows(parameters, targets: targets)
        var shifted = parameters
        shifted.target = .offset(10)
        shifted.endIndex = 30          // data[:-10]: no window reads the last 10 frames
        let offset = try data.windows(shifted)
        XCTAssertEqual(paired.count, 11)
        XCTAssertEqual(try paired[0].target()?.scalars, try data.frame(at: 10).scalars)   // Keras's own assertion
        XCTAssertEqual(paired.count, offset.count)
        XCTAssertEqual(try paired.inputs(), try offset.inputs())
        XCTAssertEqual(try paired.targets(), try offset.targets())
    }

    func testTheBufferKeepsItsStorageAcrossFills() throws {
        let frames = try TestData.labelledFrames(count: 40, height: 2, width: 2, channels: 1)
        let windows = try frames.windows(WindowParameters(sequenceLength: 5), targets: try Self.rows(40, [6]))
        let batches = try windows.batches(size: 8, shuffleSeed: 3)
        var buffer = try batches.makeBuffer()
        try batches.fill(0, into: &buffer)
        let address = buffer.targets!.withUnsafeBufferPointer { $0.baseAddress }
        for index in batches.indices {
            try batches.fill(index, into: &buffer)
            XCTAssertEqual(buffer.targets!.withUnsafeBufferPointer { $0.baseAddress }, address, "batch \(index)")
        }
        XCTAssertEqual(buffer.targets!.dimensions, [4, 6])   // 36 windows: the last batch holds 4
    }

    func testRowsOfNoValuesGiveEmptyTargetsOfTheRightShape() throws {
        let frames = try TestData.labelledFrames(count: 6, height: 1, width: 1, channels: 1)
        let windows = try frames.windows(WindowParameters(sequenceLength: 2), targets: try Tensor(shape: [6, 0]))
        XCTAssertEqual(try windows.targets()?.dimensions, [5, 0])
        XCTAssertEqual(try windows.batches(size: 2).batch(2).targets?.dimensions, [1, 0])
    }

    func testArraysThatDoNotAlignWithTheFramesAreRefused() throws {
        let frames = try TestData.labelledFrames(count: 10, height: 1, width: 2, channels: 1)
        let parameters = WindowParameters(sequenceLength: 3)
        for n in [9, 11, 0] {
            assertThrows(.shapeMismatch, "expected (10, 4)") {
                try frames.windows(parameters, targets: try Self.rows(n, [4]))
            }
        }
        assertThrows(.shapeMismatch, "expected (10)") {
            try frames.windows(parameters, targets: try Tensor(shape: [], scalars: [1]))
        }
        var framed = parameters
        framed.target = .frameAfter(steps: 1)
        assertThrows(.invalidArgument, ".none when a targets array is given") {
            try frames.windows(framed, targets: try Self.rows(10, [4]))
        }
        // The window errors stay what they are without the array.
        assertThrows(.windowLongerThanData) {
            try frames.windows(WindowParameters(sequenceLength: 11), targets: try Self.rows(10, []))
        }
    }
}

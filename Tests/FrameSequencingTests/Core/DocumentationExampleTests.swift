import FrameSequencing
import TestSupport
import XCTest

/// The doc comments' examples, and the README's on smaller data with their results
/// checked in a debug build (ReadmeExamplesTests compiles the README's blocks
/// verbatim and runs them in an optimized build).
final class DocumentationExampleTests: XCTestCase {
    func testReadmeExamples() throws {
        let pixels: [[UInt8]] = (0 ..< 50).map { TestData.randomBytes(count: 4096, seed: UInt64($0)) }

        let shape = try FrameShape(height: 64, width: 64, channels: 1)
        let frames = try FrameStack(frames: pixels, shape: shape, scale: 1.0 / 255)
        XCTAssertEqual(try frames.wholeSequence().inputs().dimensions, [1, 50, 4096])
        XCTAssertEqual(try frames.windows(.overlapping(length: 10, overlap: 5)).inputs().dimensions, [9, 10, 4096])
        XCTAssertEqual(try frames.windows(.nonOverlapping(length: 10)).inputs().dimensions, [5, 10, 4096])
        _ = try frames.windows(.nonOverlapping(length: 10, shortWindows: .padAndMask(value: 0)))

        let windows = try frames.windows(WindowParameters(
            sequenceLength: 10, sequenceStride: 1, samplingRate: 1, startIndex: nil, endIndex: nil,
            target: .frameAfter(steps: 1)))
        XCTAssertEqual(windows[0].frameIndices, Array(0 ... 9))
        XCTAssertEqual(windows[0].targetFrameIndices, [10])

        let batches = try windows.batches(size: 8, shuffleSeed: 42, keepShortLastBatch: true)
        var batch = try batches.makeBuffer(layout: .spatial)
        for index in batches.indices {
            try batches.fill(index, into: &batch)
            XCTAssertEqual(Array(batch.inputs.dimensions.dropFirst()), [10, 64, 64, 1])
            XCTAssertNotNil(batch.targets)
            XCTAssertNil(batch.mask)
            XCTAssertEqual(batch.lengths, [Int](repeating: 10, count: batch.count))
        }
        let perFrame = try TestData.randomTensor([50, 3], seed: 19)
        let labelled = try frames.windows(WindowParameters(sequenceLength: 10), targets: perFrame)
        XCTAssertEqual(try labelled[3].target(), try perFrame.slice(3 ..< 4).reshaped(to: [3]))
        let pass3 = try windows.batches(size: 8, shuffleSeed: 42, pass: 3)
        XCTAssertEqual(pass3.order.sorted(), batches.order.sorted())
        XCTAssertNotEqual(pass3.order, batches.order)

        let series = try TestData.labelledFrames(count: 400, height: 2, width: 2, channels: 3)
        let split = try series.split(trainCount: 350, testContext: 10)
        let norm = try Normalization.fit(split.train, method: .zScore, perChannel: true)
        let train = try norm.apply(to: split.train)
        let prediction = try train.frame(at: 0)
        let pixelsBack = try norm.invert(prediction)
        XCTAssertTrue(compare("invert", actual: pixelsBack.scalars, expected: try series.frame(at: 0).scalars, atol: 0.05).passed)

        let sequences: [[Float]] = [[1, 2, 3], Array(repeating: 1, count: 25)]
        let padded = try padSequences(sequences, length: .fixed(20), padding: .post, truncating: .pre, value: 0)
        XCTAssertEqual(padded.values.dimensions, [2, 20])
        XCTAssertEqual(padded.mask.dimensions, [2, 20])
        XCTAssertEqual(padded.lengths, [3, 20])

        let image = try Tensor(shape: [28, 28, 3])
        XCTAssertEqual(try image.imageSequence(along: .rows).dimensions, [28, 84])

        var stream = try RollingWindow(frameShape: shape, sequenceLength: 10)
        for frame in pixels.prefix(10) { try stream.append(frame, scale: 1.0 / 255) }
        XCTAssertEqual(try stream.latest()?.dimensions, [1, 10, 4096])

        let directory = try TestData.temporaryDirectory("readme")
        try NPY.write(NumericArray(shape: [50, 64, 64], data: .uint8(pixels.flatMap { $0 })), to: directory + "/frames.npy")
        let array = try NPY.read(contentsOf: directory + "/frames.npy")
        let loaded = try array.frameStack(scale: 1.0 / 255)
        XCTAssertEqual(try loaded.tensor(), try frames.tensor())
        try SafeTensors([.init(name: "frames", array: NumericArray(loaded.tensor()))]).write(to: directory + "/out.safetensors")
        XCTAssertEqual(try SafeTensors.read(contentsOf: directory + "/out.safetensors")["frames"]?.shape, [50, 64, 64, 1])
    }

    func testDocCommentExamples() throws {
        // Tensor
        let batch = try Tensor(shape: Shape([2, 3, 4], names: ["batch", "timesteps", "features"]))
        XCTAssertEqual(try batch.reshaped(to: [2, 12]).dimensions, [2, 12])
        XCTAssertEqual(try batch.slice(1 ..< 2).dimensions, [1, 3, 4])
        // FrameWindows
        let frames = try TestData.labelledFrames(count: 50, height: 64, width: 64, channels: 1)
        let windows = try frames.windows(WindowParameters(sequenceLength: 10, target: .frameAfter(steps: 1)))
        XCTAssertEqual(try windows[0].inputs().dimensions, [10, 4096])
        XCTAssertEqual(try windows.inputs().dimensions, [40, 10, 4096])
        // Presets
        let series53 = try TestData.labelledFrames(count: 53, height: 1, width: 1, channels: 1)
        XCTAssertEqual(try series53.windows(.nonOverlapping(length: 10)).count, 5)
        XCTAssertEqual(try series53.windows(.nonOverlapping(length: 10, shortWindows: .padAndMask(value: 0))).count, 6)
        // SeededGenerator.passSeed: the generator's (pass + 1)-th value
        var generator = SeededGenerator(seed: 42)
        let fourth = (0 ..< 4).map { _ in generator.next() }.last!
        XCTAssertEqual(SeededGenerator.passSeed(42, pass: 3), fourth)
        // WindowsAndBatches.md: the targets array and the passes (the article runs in ReadmeExamplesTests)
        let ramp = try FrameStack(frames: (0 ..< 50).map { [Float](repeating: Float($0), count: 64) },
                                  shape: FrameShape(height: 8, width: 8, channels: 1))
        let speeds = try Tensor(shape: [50, 2], scalars: (0 ..< 100).map { Float($0) })
        let labelled = try ramp.windows(.overlapping(length: 10, overlap: 5), targets: speeds)
        XCTAssertEqual(try labelled[1].target()?.scalars, [10, 11])
        let epoch = try labelled.batches(size: 4, shuffleSeed: 7, pass: 2)
        var labels = try labelled.batches(size: 4).makeBuffer()
        try epoch.fill(0, into: &labels)
        XCTAssertEqual(labels.targets?.dimensions, [4, 2])
        try epoch.fill(2, into: &labels)
        XCTAssertEqual(labels.targets?.dimensions, [1, 2])
        // Split by fraction: 400 frames, 0.125 -> 350 / 50
        let split = try TestData.labelledFrames(count: 400, height: 1, width: 1, channels: 1).split(testFraction: 0.125)
        XCTAssertEqual([split.train.count, split.test.count], [350, 50])
    }
}

import Foundation
import FrameSequencing
import FrameSequencingRuntime
import Recurrent
import TestSupport
import XCTest

/// Results do not depend on the thread count: forward and backward of an
/// LSTM, a Conv2D CNN-LSTM and a ConvLSTM forecaster, run with the shared
/// pool limited to 1 thread and to 2, on sizes above every threading threshold
/// (GEMM's and the LSTM time loops' 2^19 flops, the window fill's 2^16 values).
///
/// Tolerance: none, bit for bit. Every parallel loop partitions output rows,
/// columns, batch entries or convolution slabs, so each output element is
/// computed by one part with the same operations in the same order whichever
/// thread runs it; the one reduction split across parts, ConvLSTM's
/// parameter gradients, uses a fixed number of parts (`reductionParts`, not the
/// thread count) added in part order. If a kernel ever sizes a split reduction
/// by the thread count, this test is what notices, and a tolerance (with its
/// reason) must then be stated here.
final class ThreadCountTests: XCTestCase {
    /// Runs `body` with `threads` threads and restores the previous limit.
    func withThreads<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        let saved = WorkerPool.shared.threadLimit
        WorkerPool.shared.threadLimit = threads
        defer { WorkerPool.shared.threadLimit = saved }
        return try body()
    }

    /// The output and every gradient of `model` for `inputs` and a seeded random
    /// upstream gradient, named for the failure message.
    func forwardAndBackward<Model: Layer>(_ model: Model, _ inputs: Tensor) throws -> [(String, Tensor)] {
        let (output, cache) = try model.trainingForward(inputs, context: LayerContext())
        let upstream = try randomTensor(output.dimensions, seed: 99)
        var gradients = model.zeroGradients()
        _ = try model.backward(outputGradient: upstream, cache: cache, into: &gradients)
        let names = model.namedParameters.map { "gradient of \($0.name)" }
        return [("output", output)] + Array(zip(names, gradients.tensors))
    }

    func assertSameWithOneAndTwoThreads<Model: Layer>(_ label: String, _ model: Model, _ inputs: Tensor) throws {
        guard WorkerPool.shared.threadLimit >= 2, ProcessInfo.processInfo.activeProcessorCount >= 2 else {
            throw XCTSkip("needs 2 cores and FRAMESEQ_THREADS unset or >= 2")
        }
        let one = try withThreads(1) { try forwardAndBackward(model, inputs) }
        let two = try withThreads(2) { try forwardAndBackward(model, inputs) }
        XCTAssertEqual(one.count, two.count)
        for ((name, serial), (_, parallel)) in zip(one, two) {
            let result = compare("\(label) \(name)", actual: parallel.scalars, expected: serial.scalars)
            XCTAssert(result.passed, result.description)
        }
    }

    func testLSTMIsBitwiseIdenticalWithOneAndTwoThreads() throws {
        // B 32 x H 64 = 2048 splits the recurrence over the batch; the input
        // projection (256 x 256 x 64) is above the GEMM threshold.
        let model = try CNNLSTM(features: TimeDistributed(try Sequential([.flatten])),
                                lstm: try LSTM(inputSize: 64, hiddenSize: 64, seed: 1),
                                head: try Dense(inputSize: 64, outputSize: 8, seed: 2), returnSequences: true)
        try assertSameWithOneAndTwoThreads("LSTM", model, try randomTensor([32, 8, 8, 8, 1], seed: 3))
    }

    func testConvolutionalLSTMIsBitwiseIdenticalWithOneAndTwoThreads() throws {
        let model = try CNNLSTM(frameHeight: 24, frameWidth: 24, channels: 2, filters: [16, 16], hiddenSize: 32,
                                outputs: 4, seed: 4)
        try assertSameWithOneAndTwoThreads("CNN-LSTM", model, try randomTensor([8, 6, 24, 24, 2], seed: 5))
    }

    func testConvLSTMIsBitwiseIdenticalWithOneAndTwoThreads() throws {
        let model = try ConvLSTMForecaster(frameHeight: 16, frameWidth: 16, channels: 1, filters: [8], horizon: 2, seed: 6)
        try assertSameWithOneAndTwoThreads("ConvLSTM", model, try randomTensor([4, 4, 16, 16, 1], seed: 7, scale: 0.5))
    }

    func testWindowFillsAreIdenticalWithOneAndTwoThreads() throws {
        let frames = try FrameStack(stacked: (0 ..< 200 * 1024).map { Float($0 % 977) },
                                    frameShape: try FrameShape(height: 32, width: 32, channels: 1))
        let windows = try frames.windows(WindowParameters(sequenceLength: 10, target: .nextFrames(count: 3)))
        for layout in [SequenceLayout.batchMajor, .timeMajor, .spatial] {
            let one = try withThreads(1) { (try windows.inputs(layout: layout), try windows.targets(layout: layout)) }
            let two = try withThreads(2) { (try windows.inputs(layout: layout), try windows.targets(layout: layout)) }
            XCTAssertEqual(one.0, two.0, "\(layout) inputs")
            XCTAssertEqual(one.1, two.1, "\(layout) targets")
        }
    }

    func testTheLimitIsHonoured() {
        withThreads(1) {
            XCTAssertEqual(WorkerPool.shared.threadCount, 1)
            let caller = Thread.current
            let onCaller = Locked<Bool>(true)
            WorkerPool.shared.run(parts: 8) { _ in
                if Thread.current != caller { onCaller.withLock { $0 = false } }
            }
            XCTAssertTrue(onCaller.withLock { $0 }, "with a limit of 1 every part runs on the caller")
        }
        withThreads(1000) { XCTAssertEqual(WorkerPool.shared.threadCount, ProcessInfo.processInfo.activeProcessorCount) }
    }
}

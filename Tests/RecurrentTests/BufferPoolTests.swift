import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// Each ConvLSTM2D owns the pool of its very large training buffers (shared
/// by its copies, released with them) instead of a process-wide cache.
final class BufferPoolTests: XCTestCase {
    func testThePoolKeepsLargeBuffersUpToItsLimit() {
        let pool = BufferPool()
        let large = BufferPool.minimumBytes / MemoryLayout<Float>.stride
        pool.recycle([Float](repeating: 0, count: 16))            // small: to the allocator
        XCTAssertEqual(pool.keptCount, 0)
        for extra in 0 ..< 4 { pool.recycle([Float](repeating: 0, count: large + extra)) }
        XCTAssertEqual(pool.keptCount, BufferPool.limit, "the smallest is evicted past the limit")
        let taken = pool.take(large + 2)
        XCTAssertEqual(taken.count, large + 2, "the smallest buffer that holds the request")
        XCTAssertEqual(pool.keptCount, BufferPool.limit - 1)
        XCTAssertEqual(pool.take(large + 10).count, large + 10, "none holds it: a new buffer")
    }

    func testEachLayerHasItsOwnPoolAndCopiesShareIt() throws {
        let layer = try ConvLSTM2D(inputChannels: 1, filters: 2, kernelSize: (3, 3), padding: .same, seed: 1)
        let copy = layer
        let other = try ConvLSTM2D(inputChannels: 1, filters: 2, kernelSize: (3, 3), padding: .same, seed: 1)
        XCTAssert(layer.buffers === copy.buffers)
        XCTAssert(layer.buffers !== other.buffers)
        // A training step whose record passes the pool's threshold returns it to the layer's pool.
        let filters = 32, frame = 64
        let big = try ConvLSTM2D(inputChannels: 1, filters: filters, kernelSize: (1, 1), padding: .same, seed: 2)
        XCTAssertGreaterThanOrEqual(8 * frame * frame * 6 * filters * 4, BufferPool.minimumBytes)
        do {
            let x = try randomTensor([1, 8, frame, frame, 1], seed: 3)
            let (result, cache) = try big.trainingForward(x)
            var gradients = big.zeroGradients()
            _ = try big.backward(outputGradient: try Tensor(shape: Shape(result.output.dimensions)), finalStateGradient: nil,
                                 cache: cache, into: &gradients)
        }
        XCTAssertGreaterThanOrEqual(big.buffers.keptCount, 1, "the record and gate gradients came back to the layer's pool")
        XCTAssertEqual(other.buffers.keptCount, 0)
    }

    func testAForecastersLayersShareOnePool() throws {
        var model = try ConvLSTMForecaster(frameHeight: 6, frameWidth: 5, channels: 1, filters: [2, 2], horizon: 1, seed: 1)
        let pools = (model.encoder + model.forecaster).map(\.buffers)
        XCTAssert(pools.allSatisfy { $0 === pools[0] }, "one workspace per model")
        model.encoder[1] = try ConvLSTM2D(inputChannels: 2, filters: 2, kernelSize: (3, 3), padding: .same, seed: 9)
        XCTAssert(model.encoder[1].buffers === pools[0], "a replaced layer joins the model's pool")
        let other = try ConvLSTMForecaster(frameHeight: 6, frameWidth: 5, channels: 1, filters: [2], horizon: 1, seed: 1)
        XCTAssert(other.encoder[0].buffers !== pools[0])
    }
}

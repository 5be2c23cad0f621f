import Foundation
import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Data-parallel training through ``GradientExchange``: ranks as threads of
/// this process, joined by an in-memory exchange (the MPI one is tested in
/// Distributed/). N ranks training shares of batch G must end where one
/// trainer of batch G ends, up to the order of float sums.
final class TrainerDataParallelTests: XCTestCase {
    /// 1 x 2 x 1 frames of two sines, windows of 8 paired with the next frame.
    func windows(count: Int = 70) throws -> FrameWindows {
        var values: [Float] = []
        for t in 0 ..< count {
            let time = Float(t)
            values += [0.5 + 0.4 * sin(time * 0.3), 0.5 + 0.3 * cos(time * 0.7)]
        }
        let frames = try FrameStack(stacked: values, frameShape: try FrameShape(height: 1, width: 2, channels: 1))
        return try frames.windows(WindowParameters(sequenceLength: 8, target: .frameAfter(steps: 1)))
    }

    static func model(seed: UInt64) throws -> CNNLSTM {
        try CNNLSTM(features: TimeDistributed(try Sequential([.flatten])), lstm: try LSTM(inputSize: 2, hiddenSize: 10, seed: seed),
                    head: try Dense(inputSize: 10, outputSize: 2, seed: seed + 1))
    }

    static func trainer(seed: UInt64) throws -> Trainer<CNNLSTM, Adam> {
        try Trainer(model: try model(seed: seed), optimizer: try Adam(learningRate: 0.01), loss: MeanSquaredError(),
                    schedule: try StepDecay.piecewise(dropFactor: 0.5, dropPeriod: 1))
    }

    /// Runs `body` as `size` ranks on threads, each with its exchange, and
    /// returns their results in rank order (rethrowing the first error).
    func ranks<R: Sendable>(_ size: Int, _ body: @escaping @Sendable (LoopbackExchange) throws -> R) throws -> [R] {
        let hub = LoopbackHub(size: size)
        let results = Locked([Result<R, any Error>?](repeating: nil, count: size))
        let group = DispatchGroup()
        for rank in 0 ..< size {
            group.enter()
            Thread {
                let result = Result { try body(LoopbackExchange(hub: hub, rank: rank)) }
                results.withLock { $0[rank] = result }
                group.leave()
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success, "the ranks did not finish")
        return try results.withLock { $0 }.map { try XCTUnwrap($0).get() }
    }

    func assertClose(_ a: [(name: String, tensor: Tensor)], _ b: [(name: String, tensor: Tensor)], _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.map(\.name), b.map(\.name), file: file, line: line)
        for (x, y) in zip(a, b) {
            let scale = max(y.tensor.scalars.map(abs).max() ?? 0, 1e-3)
            let difference = zip(x.tensor.scalars, y.tensor.scalars).map { abs($0 - $1) }.max() ?? 0
            // Float sums in another order: a few ulps a step, over 3 epochs of 8 steps.
            XCTAssertLessThan(difference / scale, 2e-5, "\(what): \(x.name) differs by \(difference)", file: file, line: line)
        }
    }

    func testRanksTrainingSharesEqualOneTrainerOfTheWholeBatch() throws {
        let windows = try windows()   // 62 windows: batches of 8, the last of 6
        let options = TrainingOptions(epochs: 3, batchSize: 8, shuffleSeed: 4, validationFraction: 0.1,
                                      clipping: .globalNorm(maxNorm: 0.5))
        var alone = try Self.trainer(seed: 1)
        let history = try alone.fit(windows, options: options)
        for size in [2, 3, 5] {   // shares of 4; of 3, 3, 2; of 2, 2, 2, 2, 0 (and 2, 2, 2, 0, 0 in the short batch)
            let trained = try ranks(size) { exchange in
                // Every rank but 0 starts from other weights: the first fit takes rank 0's.
                var trainer = try Self.trainer(seed: exchange.rank == 0 ? 1 : 50 + UInt64(exchange.rank))
                trainer.gradientExchange = exchange
                let history = try trainer.fit(windows, options: options)
                return (trainer.model.namedParameters, trainer.optimizer.exportState().tensors, trainer.step, history)
            }
            for (rank, (parameters, state, step, rankHistory)) in trained.enumerated() {
                XCTAssertEqual(step, alone.step)
                assertClose(parameters, alone.model.namedParameters, "\(size) ranks, rank \(rank)")
                let aloneState = alone.optimizer.exportState().tensors
                assertClose(state.keys.sorted().map { ($0, state[$0]!) }, aloneState.keys.sorted().map { ($0, aloneState[$0]!) },
                            "\(size) ranks, rank \(rank) Adam state")
                for (a, b) in zip(rankHistory, history) {
                    XCTAssertEqual(a.trainingLoss, b.trainingLoss, accuracy: 1e-5 * b.trainingLoss)
                    XCTAssertEqual(try XCTUnwrap(a.validationLoss), try XCTUnwrap(b.validationLoss), accuracy: 1e-5 * b.trainingLoss)
                }
                XCTAssertEqual(parameters.map { $0.tensor }, trained[0].0.map { $0.tensor }, "every rank holds the same model")
            }
        }
    }

    /// Augmentation is drawn per window number, so ranks training shares of a
    /// batch flip and reverse the same windows one trainer would.
    func testAugmentedRanksEqualOneAugmentedTrainer() throws {
        let windows = try windows()
        var augmented = TrainingOptions(epochs: 2, batchSize: 8, shuffleSeed: 4, clipping: .globalNorm(maxNorm: 0.5))
        augmented.augmentation = WindowAugmentation(horizontalFlip: true, timeReversal: true)
        let options = augmented
        var alone = try Self.trainer(seed: 1)
        try alone.fit(windows, options: options)
        var plain = try Self.trainer(seed: 1)
        try plain.fit(windows, options: TrainingOptions(epochs: 2, batchSize: 8, shuffleSeed: 4, clipping: .globalNorm(maxNorm: 0.5)))
        XCTAssertNotEqual(plain.model.namedParameters.map(\.tensor), alone.model.namedParameters.map(\.tensor),
                          "augmentation changes what is learned")
        let trained = try ranks(3) { exchange in
            var trainer = try Self.trainer(seed: 1)
            trainer.gradientExchange = exchange
            try trainer.fit(windows, options: options)
            return trainer.model.namedParameters
        }
        for (rank, parameters) in trained.enumerated() {
            assertClose(parameters, alone.model.namedParameters, "3 ranks augmented, rank \(rank)")
        }
    }

    func testOneRankWithANaNStopsEveryRankAndNoneAppliesTheStep() throws {
        var values = (0 ..< 40).flatMap { [Float($0 % 5) / 5, Float($0 % 3) / 3] }
        values[2 * 22] = .nan   // frame 22: window 15 reads it first (its inputs are checked first); batch 3 (windows 12...15) unshuffled, rank 1's share
        let frames = try FrameStack(stacked: values, frameShape: try FrameShape(height: 1, width: 2, channels: 1))
        let windows = try frames.windows(WindowParameters(sequenceLength: 8, target: .frameAfter(steps: 1)))
        let outcomes = try ranks(2) { exchange -> (String, Int, Bool) in
            var trainer = try Self.trainer(seed: 3)
            trainer.gradientExchange = exchange
            do {
                try trainer.fit(windows, options: TrainingOptions(epochs: 1, batchSize: 4, shuffleSeed: nil))
                return ("no error", trainer.step, true)
            } catch {
                let finite = trainer.model.namedParameters.allSatisfy { $0.tensor.scalars.allSatisfy(\.isFinite) }
                return ("\(error)", trainer.step, finite)
            }
        }
        XCTAssertTrue(outcomes[1].0.contains("inputs of window 15 at epoch 1, step 4"), outcomes[1].0)
        XCTAssertTrue(outcomes[0].0.contains("rank 1 failed"), outcomes[0].0)
        XCTAssertEqual(outcomes.map(\.1), [3, 3], "both ranks stopped after the 3 steps before it")
        XCTAssertEqual(outcomes.map(\.2), [true, true])
    }

    func testTrainOnBatchIsRefusedWithAnExchange() throws {
        let windows = try windows(count: 20)
        let results = try ranks(1) { exchange -> String in
            var trainer = try Self.trainer(seed: 1)
            trainer.gradientExchange = exchange
            var gradients = trainer.model.zeroGradients()
            do {
                try trainer.trainOnBatch(try windows.batches(size: 4).batch(0), gradients: &gradients)
                return "trained"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(results[0].contains("trainOnBatch"), results[0])
    }

    func testSharesCoverEveryWindowOfABatchOnce() throws {
        let batches = try windows(count: 40).batches(size: 7, shuffleSeed: 9)   // 32 windows: 4 of 7, one of 4
        for shares in 1 ... 9 {
            for index in batches.indices {
                let parts = try (0 ..< shares).map { try batches.windowIndices(ofBatch: index, share: $0, of: shares) }
                XCTAssertEqual(parts.flatMap { $0 }, Array(batches[index]), "\(shares) shares of batch \(index)")
                XCTAssertLessThanOrEqual(parts.map(\.count).max()!, (batches[index].count + shares - 1) / shares)
            }
        }
        var buffer = try batches.makeBuffer(shares: 3)
        try batches.fill(4, share: 1, of: 3, into: &buffer)
        XCTAssertEqual(buffer.windowIndices, Array(try batches.windowIndices(ofBatch: 4, share: 1, of: 3)))
        XCTAssertThrowsError(try batches.fill(4, share: 2, of: 3, into: &buffer)) {   // 4 windows in shares of 2: the third is empty
            XCTAssertTrue("\($0)".contains("empty share"), "\($0)")
        }
        XCTAssertThrowsError(try batches.windowIndices(ofBatch: 0, share: 3, of: 3))
        XCTAssertThrowsError(try batches.windowIndices(ofBatch: 0, share: 0, of: 0))
    }

    func testCheckpointBytesRoundTrip() throws {
        var trainer = try Self.trainer(seed: 6)
        try trainer.fit(try windows(count: 30), options: TrainingOptions(epochs: 1, batchSize: 5))
        let bytes = try trainer.checkpoint(metadata: ["note": "x"]).encoded()
        let path = try TestData.temporaryDirectory("checkpoint-bytes") + "/c.safetensors"
        try trainer.checkpoint(metadata: ["note": "x"]).write(to: path)
        XCTAssertEqual(bytes, Array(try Data(contentsOf: URL(fileURLWithPath: path))), "the same bytes as the file")
        let decoded = try Checkpoint.decode(bytes)
        XCTAssertEqual(decoded.step, trainer.step)
        XCTAssertEqual(decoded.metadata["note"], "x")
        XCTAssertThrowsError(try Checkpoint.decode(Array(bytes.prefix(40)), name: "cut"))
    }
}

/// Ranks as threads: every call is an all-gather of one value per rank.
final class LoopbackHub: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var slots: [Any?]
    private var gathered: [Any] = []
    private var arrived = 0, round = 0

    init(size: Int) {
        self.size = size
        slots = Array(repeating: nil, count: size)
    }

    func allGather(rank: Int, _ value: Any) -> [Any] {
        condition.lock()
        defer { condition.unlock() }
        let mine = round
        slots[rank] = value
        arrived += 1
        if arrived == size {
            gathered = slots.map { $0! }
            (arrived, round) = (0, round + 1)
            condition.broadcast()
        } else {
            // The next round cannot end before this rank arrives in it, so `gathered` stays this round's.
            while round == mine { condition.wait() }
        }
        return gathered
    }
}

/// A ``GradientExchange`` over a ``LoopbackHub``: sums in rank order.
final class LoopbackExchange: GradientExchange, @unchecked Sendable {
    let hub: LoopbackHub
    let rank: Int
    var size: Int { hub.size }

    init(hub: LoopbackHub, rank: Int) {
        (self.hub, self.rank) = (hub, rank)
    }

    func combine(_ gradients: [Tensor], loss: Float, windows: Int, of total: Int, failed: Bool) throws -> CombinedStep {
        let weight = Float(windows) / Float(total)
        let mine = gradients.map { $0.scalars.map { $0 * weight } }
        let all = hub.allGather(rank: rank, (mine, loss * weight, failed)) as! [([[Float]], Float, Bool)]
        var sums = all[0].0, loss = all[0].1
        for other in all.dropFirst() {
            for (i, tensor) in other.0.enumerated() { for j in tensor.indices { sums[i][j] += tensor[j] } }
            loss += other.1
        }
        return CombinedStep(gradients: try zip(gradients, sums).map { try Tensor(shape: $0.shape, scalars: $1) },
                            loss: loss, failedRanks: all.indices.filter { all[$0].2 })
    }

    func broadcastFromRankZero(_ bytes: [UInt8]) throws -> [UInt8] {
        hub.allGather(rank: rank, bytes)[0] as! [UInt8]
    }
}

import AllocationCounter
import Foundation
import FrameSequencing
import FrameSequencingRuntime
import Recurrent
import Synchronization
import TestSupport
import XCTest

/// Time loops never allocate: a call over many timesteps makes exactly as many
/// heap allocations as the same call over few (the per-call buffers: tensors,
/// caches, packed weights), counted by interposing glibc's malloc family in
/// the test process, on this thread and the worker pool's. Each call runs once first to warm the shared workspaces
/// (GEMM blocks, the worker pool), then is counted on its second run. Sizes
/// keep every threading decision and GEMM blocking the same for both lengths,
/// so only a per-timestep allocation changes the count.
///
/// Not covered: CNN-LSTM as a whole. Its LSTM is the one tested here; its
/// convolutions run once over all B * T frames (not a time loop) in up to 16
/// slabs, each with its own scratch allocation, so that count grows with the
/// number of frames up to 16.
///
/// Counts are a property of optimized code (unoptimized builds allocate in
/// generic iterators the optimizer removes), so this runs in release builds:
/// `swift test -c release -Xswiftc -enable-testing --filter TimeLoopAllocation`
/// (as .ci/run does).
final class TimeLoopAllocationTests: XCTestCase {
    override func setUpWithError() throws {
        guard fsac_available() != 0 else { throw XCTSkip("allocations are counted only on Linux with glibc, without a sanitizer") }
        #if DEBUG
        throw XCTSkip("allocation counts are checked in release builds (see the class comment)")
        #else
        XCTAssertTrue(Self.threadsMarked, "every worker of the pool took a part")
        #endif
    }

    /// Marks this thread and every worker of the pool as counted (their
    /// allocations, not those of the test runner's own threads): a pool job whose
    /// parts wait briefly for each other, repeated until every part ran on a
    /// thread of its own (a worker that has just started may miss a job).
    static let threadsMarked: Bool = {
        final class Arrivals: @unchecked Sendable {   // each part writes only its own slot
            let count = Atomic<Int>(0)
            var threads: [pthread_t?]
            init(_ parts: Int) { threads = Array(repeating: nil, count: parts) }
        }
        let parts = WorkerPool.shared.threadCount
        fsac_count_this_thread()
        for _ in 0 ..< 100 {
            let arrivals = Arrivals(parts)
            WorkerPool.shared.run(parts: parts) { part in
                fsac_count_this_thread()
                arrivals.threads[part] = pthread_self()
                arrivals.count.add(1, ordering: .sequentiallyConsistent)
                let deadline = Date().addingTimeInterval(0.1)
                while arrivals.count.load(ordering: .sequentiallyConsistent) < parts && Date() < deadline {}
            }
            if Set(arrivals.threads.compactMap { $0.map(UInt.init) }).count == parts { return true }
        }
        return false
    }()

    /// Heap allocations of a call of `body` after the first, on every thread: the
    /// fewest of three calls. An allocation per timestep happens in every call; a
    /// one-off that depends on thread timing does not (CI once counted 6 more
    /// in one call of ConvLSTM2D 3x2 at T = 12, on a busy machine: 80 against
    /// 74 in every rerun), and must not fail the test.
    func allocations(_ body: () throws -> Void) rethrows -> Int {
        try body()
        var fewest = Int.max
        for _ in 0 ..< 3 {
            fsac_start()
            defer { _ = fsac_stop() }
            try body()
            fewest = min(fewest, fsac_stop())
        }
        return fewest
    }

    /// The allocations of `body(T)` for few and for many timesteps, which must be equal.
    func assertIndependentOfTimesteps(_ name: String, few: Int = 2, many: Int = 12,
                                      _ body: (Int) throws -> () throws -> Void) throws {
        let fewCall = try body(few), manyCall = try body(many)
        let counts = (try allocations(fewCall), try allocations(manyCall))
        print("\(name): \(counts.0) allocations at T = \(few), \(counts.1) at T = \(many)")
        XCTAssertEqual(counts.0, counts.1, "\(name) allocates per timestep")
        XCTAssertGreaterThan(counts.0, 0, "\(name): the counter saw nothing (the result tensors are allocations)")
    }

    func testTheCounterSeesAllocationsInALoop() {
        var kept: [[Float]] = []
        let count = allocations {
            kept = []
            for i in 0 ..< 10 { kept.append([Float](repeating: 1, count: 100 + i)) }
        }
        XCTAssertGreaterThanOrEqual(count, 10)
        XCTAssertEqual(kept.count, 10)
    }

    func testLSTMForwardAndBackward() throws {
        // Two layers, B 16, I = H = 64: every product is large enough to be split
        // over the worker pool already at T = 2, and at most 256 rows (B * T) keep
        // the products over all rows within one depth block (a second block would
        // add a pool hand-off, and an allocation, per product).
        var lstm = try LSTM(inputSize: 64, hiddenSize: 64, layerCount: 2, seed: 1)
        for lengths in [false, true] {   // unpadded (fused kernels on x86) and padded (the reference loop)
            try assertIndependentOfTimesteps("LSTM forward\(lengths ? " with lengths" : "")", many: 16) { steps in
                let x = try randomTensor([16, steps, 64], seed: 2)
                let valid = lengths ? (0 ..< 16).map { $0 % steps + 1 } : nil
                return { _ = try lstm.forward(x, lengths: valid) }
            }
            // Recomputing every step (k = 1): a segment per timestep, so an
            // allocation per segment would be one per timestep.
            for recomputation in [Recomputation.none, .keepStatesEvery(1)] {
                lstm.recomputation = recomputation
                let name = "LSTM forward and backward\(lengths ? " with lengths" : "")\(recomputation == .none ? "" : ", recomputed")"
                try assertIndependentOfTimesteps(name, many: 16) { steps in
                    let x = try randomTensor([16, steps, 64], seed: 2)
                    let g = try randomTensor([16, steps, 64], seed: 3)
                    let valid = lengths ? (0 ..< 16).map { $0 % steps + 1 } : nil
                    var gradients = lstm.zeroGradients()
                    return {
                        let (_, cache) = try lstm.trainingForward(x, lengths: valid)
                        _ = try lstm.backward(outputGradient: g, cache: cache, into: &gradients)
                    }
                }
            }
        }
    }

    func testGRUForwardAndBackward() throws {
        // As the LSTM's: two layers, B 16, I = H = 64; both reset placements
        // (one fused call per step, or two), unpadded and padded.
        for resetAfter in [true, false] {
            let gru = try GRU(inputSize: 64, hiddenSize: 64, layerCount: 2, resetAfter: resetAfter, seed: 1)
            for lengths in [false, true] {
                let name = "GRU\(resetAfter ? "" : " resetting before")\(lengths ? " with lengths" : "")"
                try assertIndependentOfTimesteps("\(name) forward", many: 16) { steps in
                    let x = try randomTensor([16, steps, 64], seed: 2)
                    let valid = lengths ? (0 ..< 16).map { $0 % steps + 1 } : nil
                    return { _ = try gru.forward(x, lengths: valid) }
                }
                // From T = 4: without resetAfter, dW_hh is two products over the B * T rows,
                // and the one of H x H (2 * 64 * 64 * 32 flops at T = 2) is below the
                // threading threshold at T = 2 and above it from T = 4, so T = 2 against 16
                // counted the pool hand-offs of a threaded product (a WorkerPool run
                // allocates once, a threaded GEMM twice a depth block, as measured), not an
                // allocation a timestep: 135 at T = 2, 139 at 16, and 151 at 32, where each
                // product over the rows takes two depth blocks. From T = 4 to 16 every
                // product is threaded and in one depth block.
                try assertIndependentOfTimesteps("\(name) forward and backward", few: 4, many: 16) { steps in
                    let x = try randomTensor([16, steps, 64], seed: 2)
                    let g = try randomTensor([16, steps, 64], seed: 3)
                    let valid = lengths ? (0 ..< 16).map { $0 % steps + 1 } : nil
                    var gradients = gru.zeroGradients()
                    return {
                        let (_, cache) = try gru.trainingForward(x, lengths: valid)
                        _ = try gru.backward(outputGradient: g, cache: cache, into: &gradients)
                    }
                }
            }
        }
    }

    func testConvLSTMForwardAndBackward() throws {
        // 3 x 3 runs the recurrent convolution as Winograd, 3 x 2 as one fused
        // im2col product; two sequences so each step's phases are split over the pool.
        for kernel in [(3, 3), (3, 2)] {
            var layer = try smallConvLSTM(channels: 2, filters: 4, kernel: kernel, seed: 4)
            let name = "ConvLSTM2D \(kernel.0)x\(kernel.1)"
            try assertIndependentOfTimesteps("\(name) forward") { steps in
                let x = try randomTensor([2, steps, 8, 8, 2], seed: 5)
                return { _ = try layer.forward(x) }
            }
            // k = 1: a segment per timestep (at least two segments at either length).
            for recomputation in [Recomputation.none, .keepStatesEvery(1)] {
                layer.recomputation = recomputation
                try assertIndependentOfTimesteps("\(name) forward and backward\(recomputation == .none ? "" : ", recomputed")") { steps in
                    let x = try randomTensor([2, steps, 8, 8, 2], seed: 5)
                    let g = try randomTensor([2, steps, 8, 8, 4], seed: 6)
                    var gradients = layer.zeroGradients()
                    return {
                        let (_, cache) = try layer.trainingForward(x)
                        _ = try layer.backward(outputGradient: g, cache: cache, into: &gradients)
                    }
                }
            }
        }
    }
}

import Foundation
import FrameSequencing
import XCTest
@testable import FrameSequencingRuntime

/// `Tensor.firstNonFiniteIndex` scans blocks of 256 without an exit per element,
/// split over the pool above `elementwiseThreadingThreshold` elements; it must
/// still return the first NaN or infinity wherever the others are.
final class ElementwisePassTests: XCTestCase {
    func testFirstNonFiniteIndexAgreesWithAPlainScan() throws {
        let count = 3 * elementwiseThreadingThreshold + 5   // several chunks on two threads, a partial block
        let placements: [[Int]] = [
            [], [0], [count - 1], [255], [256], [255, 256],
            [count / 2 + 3, count - 2],            // both past the middle (the last chunk on 2 threads)
            [10, count / 2 + 3],                    // the first chunk's wins
            [count / 2 - 1, count / 2, count / 2 + 1],
        ]
        for (p, positions) in placements.enumerated() {
            for bad: Float in [.nan, .infinity, -.infinity, -Float.nan] {
                var values = (0 ..< count).map { Float($0 % 97) - 48 }
                values[values.count / 3] = .greatestFiniteMagnitude   // finite extremes are not flagged
                values[values.count / 3 + 1] = -.greatestFiniteMagnitude
                for position in positions { values[position] = bad }
                let tensor = try Tensor(shape: [count], scalars: values)
                XCTAssertEqual(tensor.firstNonFiniteIndex, values.firstIndex { !$0.isFinite }, "placement \(p), \(bad)")
            }
        }
        for count in [0, 1, 16, 17, 300] {   // below the threshold: one chunk
            var values = [Float](repeating: 1, count: count)
            XCTAssertNil(try Tensor(shape: [count], scalars: values).firstNonFiniteIndex)
            if count > 0 {
                values[count - 1] = .nan
                XCTAssertEqual(try Tensor(shape: [count], scalars: values).firstNonFiniteIndex, count - 1)
            }
        }
    }

    func testChunksCoverEveryElementOnceInOrder() {
        for count in [0, 1, 15, elementwiseThreadingThreshold - 1, elementwiseThreadingThreshold, 100_003] {
            var ranges: [Int: Range<Int>] = [:]
            let lock = NSLock()
            forEachElementChunk(count) { part, range in
                lock.lock()
                ranges[part] = range
                lock.unlock()
            }
            let ordered = ranges.keys.sorted().map { ranges[$0]! }
            XCTAssertEqual(ordered.first?.lowerBound ?? 0, 0, "count \(count)")
            XCTAssertEqual(ordered.last?.upperBound ?? 0, count, "count \(count)")
            for (a, b) in zip(ordered, ordered.dropFirst()) {
                XCTAssertEqual(a.upperBound, b.lowerBound, "count \(count): contiguous, in part order")
                XCTAssertEqual(a.upperBound % 16, 0, "count \(count): chunks start at multiples of 16")
            }
            if count >= elementwiseThreadingThreshold && WorkerPool.shared.threadCount > 1 {
                XCTAssertEqual(ordered.count, WorkerPool.shared.threadCount, "count \(count): split over the pool")
            } else {
                XCTAssertEqual(ordered.count, 1, "count \(count): one chunk")
            }
        }
    }
}

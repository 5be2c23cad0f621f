import Foundation
import XCTest
@testable import FrameseqCLI

/// The per-step loss record metrics.json keeps: thinned to a few hundred
/// points, the same way every time, the first and last steps kept.
final class TrainingLogTests: XCTestCase {
    func testStepLossesAreThinnedDeterministicallyKeepingTheEnds() {
        for count in [0, 1, 2, 499, 500, 501, 1000, 123_457] {
            let kept = thinnedIndices(count: count, limit: 500)
            XCTAssertEqual(kept, thinnedIndices(count: count, limit: 500), "\(count): the same every time")
            XCTAssertEqual(kept.count, min(count, 500), "\(count)")
            guard count > 0 else { continue }
            XCTAssertEqual(kept.first, 0, "\(count): the first step")
            XCTAssertEqual(kept.last, count - 1, "\(count): the last step")
            XCTAssert(zip(kept, kept.dropFirst()).allSatisfy { $0 < $1 }, "\(count): increasing, no repeats")
        }
        let log = TrainingLog()
        for step in 11 ... 2010 { log.recordStep(step, loss: Float(step)) }
        let losses = log.stepLosses
        XCTAssertEqual(losses?.recorded, 2000)
        XCTAssertEqual(losses?.step.count, TrainingLog.limit)
        XCTAssertEqual(losses?.step.first, 11)
        XCTAssertEqual(losses?.step.last, 2010)
        XCTAssertEqual(losses?.loss.last, 2010, "each loss stays with its step")
    }
}

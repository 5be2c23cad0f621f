import Foundation
import FrameSequencing
import Recurrent
import XCTest
@testable import FrameseqCLI

/// `frameseq demo --benchmark`: fresh sequences drawn reproducibly, and the
/// scores computed as OpenSTL computes them.
final class BenchmarkCommandTests: XCTestCase {
    func testMovingDigitSequencesAreSeededFreshPerDrawAndIndependent() throws {
        let digits = MovingDigits(size: 32, digitCount: 2, seed: 5)
        let frame = 32 * 32
        let draw0 = try digits.sequences(count: 3, length: 6, draw: 0)
        XCTAssertEqual(draw0.count, 3 * 6 * frame)
        XCTAssertEqual(draw0, try digits.sequences(count: 3, length: 6, draw: 0), "the same draw is the same pixels")
        XCTAssertNotEqual(draw0, try digits.sequences(count: 3, length: 6, draw: 1), "a new draw is new sequences")
        for index in 0 ..< 3 {
            let own = try MovingDigits(size: 32, digitCount: 2, seed: MovingDigits.sequenceSeed(5, draw: 0, index: index))
                .pixels(count: 6)
            XCTAssertEqual(Array(draw0[index * 6 * frame ..< (index + 1) * 6 * frame]), own, "sequence \(index) is its own series")
        }
        XCTAssertNotEqual(draw0[0 ..< 6 * frame], draw0[6 * frame ..< 12 * frame])
        // The held-out draw shares no sequence seed with the first thousand training draws.
        let heldOut = Set((0 ..< 100).map { MovingDigits.sequenceSeed(5, draw: .max, index: $0) })
        for draw in UInt64(0) ..< 1000 {
            for index in 0 ..< 100 where heldOut.contains(MovingDigits.sequenceSeed(5, draw: draw, index: index)) {
                XCTFail("draw \(draw) sequence \(index) repeats a held-out sequence")
            }
        }
    }

    func testTinyBenchmarkScoresAsOpenSTLDoes() throws {
        let output = try temporaryFolder(self) + "/benchmark"
        let run = CLIRun(["demo", "--benchmark", "--quiet", "--size", "32", "--minutes", "0.01", "--train-sequences", "4",
                          "--test-sequences", "3", "--filters", "4", "--batch-size", "2", "--output", output])
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssert(run.out.contains("MSE/frame"), run.out)
        let result = try JSONDecoder().decode(BenchmarkResult.self, from: try Data(contentsOf: URL(fileURLWithPath: output + "/benchmark.json")))
        XCTAssertGreaterThan(result.steps, 0)
        for scores in [result.model, result.persistence, result.meanFrame] {
            XCTAssertEqual(scores.msePerFrameByStep.count, 10)
            XCTAssertEqual(scores.ssimByStep.count, 10)
            XCTAssertEqual(scores.msePerFrame, scores.msePerFrameByStep.reduce(0, +) / 10, accuracy: 1e-9)
        }
        // Persistence recomputed from the held-out sequences: frame 9 repeated,
        // the squared error summed over each frame's 32 x 32 values.
        let pixels = try MovingDigits(size: 32, digitCount: 2, seed: 1).sequences(count: 3, length: 20, draw: .max)
        let values = pixels.map { Double(Float($0) * (1.0 / 255)) }
        var byStep = [Double](repeating: 0, count: 10)
        var ssimByStep = [Double](repeating: 0, count: 10)
        for sequence in 0 ..< 3 {
            let base = sequence * 20 * 1024
            let last = Array(values[base + 9 * 1024 ..< base + 10 * 1024])
            for k in 0 ..< 10 {
                let truth = Array(values[base + (10 + k) * 1024 ..< base + (11 + k) * 1024])
                byStep[k] += zip(truth, last).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 3
                ssimByStep[k] += try StructuralSimilarity().evaluate(try Tensor(shape: [32, 32, 1], converting: last),
                                                                     try Tensor(shape: [32, 32, 1], converting: truth)) / 3
            }
        }
        for k in 0 ..< 10 {
            XCTAssertEqual(result.persistence.msePerFrameByStep[k], byStep[k], accuracy: 1e-4 * max(byStep[k], 1))
            XCTAssertEqual(result.persistence.ssimByStep[k], ssimByStep[k], accuracy: 1e-5)
        }
        XCTAssertGreaterThan(byStep[9], byStep[0], "digits move away from where they were")
        XCTAssertNotNil(try? Checkpoint.read(contentsOf: output + "/benchmark.safetensors"))
    }

    func testTheBudgetScheduleWarmsUpThenAnnealsOverTheClock() {
        let at = SchedulePosition(epoch: 0, step: 0)
        func rate(after fraction: Double) -> Double {
            TimeBudgetSchedule(started: Date().addingTimeInterval(-fraction * 1000), seconds: 1000).learningRate(initial: 1, at: at)
        }
        XCTAssertEqual(rate(after: 0), 0.1, accuracy: 1e-3)
        XCTAssertEqual(rate(after: 0.02), 1, accuracy: 1e-3)
        XCTAssertEqual(rate(after: 0.51), 0.55, accuracy: 1e-3)      // half way through the cosine
        XCTAssertEqual(rate(after: 1), 0.1, accuracy: 1e-6)
        XCTAssertEqual(rate(after: 3), 0.1, accuracy: 1e-6, "past the budget the rate stays at a tenth")
    }

    func testBenchmarkOptionsNeedTheBenchmark() {
        let run = CLIRun(["demo", "--minutes", "3"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssert(run.err.contains("minutes"), run.err)
        let odd = CLIRun(["demo", "--benchmark", "--patch", "3"])
        XCTAssertNotEqual(odd.status, 0)
        XCTAssert(odd.err.contains("--patch 3 does not divide"), odd.err)
    }
}

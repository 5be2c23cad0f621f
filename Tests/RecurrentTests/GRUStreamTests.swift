import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// T one-step calls of a GRUStream equal one T-step call (stacked, both reset
/// placements), chunks too; reset returns to the start; what cannot be streamed is refused.
final class GRUStreamTests: XCTestCase {
    func testStepsEqualOneCallOverTheSequence() throws {
        for resetAfter in [true, false] {
            let gru = try GRU(inputSize: 5, hiddenSize: 9, layerCount: 2, resetAfter: resetAfter, seed: 3)
            let (batch, steps) = (3, 6)
            let x = try randomTensor([batch, steps, 5], seed: 4)
            let h0 = try randomTensor([2, batch, 9], seed: 5, scale: 0.5)
            let whole = try gru.forward(x, initialHidden: h0)
            var stream = try GRUStream(gru, batch: batch, initialState: h0)
            var stepped = [Float](repeating: 0, count: batch * steps * 9)
            for t in 0 ..< steps {
                var frame = [Float]()
                for b in 0 ..< batch { frame += x.scalars[(b * steps + t) * 5 ..< (b * steps + t + 1) * 5] }
                let h = try stream.step(try Tensor(shape: [batch, 5], scalars: frame))
                XCTAssertEqual(h.dimensions, [batch, 9])
                for b in 0 ..< batch {
                    for u in 0 ..< 9 { stepped[(b * steps + t) * 9 + u] = h.scalars[b * 9 + u] }
                }
            }
            requireClose(compare("stepped output \(resetAfter)", actual: stepped, expected: whole.output.scalars,
                                 atol: 1e-6, rtol: 1e-5))
            requireClose(compare("stepped h_n \(resetAfter)", actual: stream.state.scalars, expected: whole.finalHidden.scalars,
                                 atol: 1e-6, rtol: 1e-5))
            stream.reset()
            XCTAssertEqual(stream.state, h0)
            let first = try stream.advance(try randomTensor([batch, 2, 5], seed: 6))
            XCTAssertEqual(first.dimensions, [batch, 2, 9])
        }
    }

    func testRefusesBidirectionalGRUsAndWrongShapes() throws {
        let bidirectional = try GRU(inputSize: 2, hiddenSize: 3, bidirectional: true, seed: 1)
        XCTAssertThrowsError(try GRUStream(bidirectional, batch: 1)) { error in
            XCTAssertEqual(error as? RecurrentError, .invalidArgument(name: "GRU to stream", expected: "a unidirectional GRU",
                                                                      actual: "a bidirectional one"))
        }
        var backwards = try GRU(inputSize: 2, hiddenSize: 3, seed: 1)
        backwards.goBackwards = true
        XCTAssertThrowsError(try GRUStream(backwards, batch: 1)) { error in
            XCTAssertEqual(error as? RecurrentError, .invalidArgument(name: "GRU to stream", expected: "a GRU reading forward in time",
                                                                      actual: "goBackwards (it needs the whole sequence)"))
        }
        let gru = try GRU(inputSize: 2, hiddenSize: 3, seed: 1)
        XCTAssertThrowsError(try GRUStream(gru, batch: 2, initialState: try Tensor(shape: [1, 1, 3]))) { error in
            XCTAssertEqual(error as? RecurrentError, .shapeMismatch(name: "Initial hidden state", expected: [1, 2, 3], actual: [1, 1, 3]))
        }
        var stream = try GRUStream(gru, batch: 2)
        XCTAssertThrowsError(try stream.step(try Tensor(shape: [2, 1, 2])))
        XCTAssertThrowsError(try stream.step(try Tensor(shape: [2, 3])))
    }
}

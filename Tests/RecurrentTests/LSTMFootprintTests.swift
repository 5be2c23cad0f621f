import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// The LSTM's parameter count and memory estimate against what an LSTM of
/// those options holds: projections, no biases and recurrent dropout included.
final class LSTMFootprintTests: XCTestCase {
    private struct Case {
        var layers = 1, bidirectional = false, projection = 0, bias = true, recurrentDropout: Float = 0
        var returnSequences = true
    }

    private let cases = [
        Case(),
        Case(layers: 2, bidirectional: true),
        Case(bias: false),
        Case(projection: 2),
        Case(layers: 2, bidirectional: true, projection: 3, bias: false),
        Case(recurrentDropout: 0.3),
        Case(layers: 2, bidirectional: true, recurrentDropout: 0.3, returnSequences: false),
        Case(layers: 3, projection: 2, recurrentDropout: 0.5),
    ]

    private func lstm(_ c: Case) throws -> LSTM {
        var lstm = try LSTM(inputSize: 4, hiddenSize: 5, projectionSize: c.projection, layerCount: c.layers,
                            bidirectional: c.bidirectional, bias: c.bias, recurrentDropout: c.recurrentDropout, seed: 3)
        lstm.returnSequences = c.returnSequences
        return lstm
    }

    func testParameterCountIsWhatTheLSTMHolds() throws {
        for c in cases {
            let lstm = try lstm(c)
            XCTAssertEqual(LSTM.parameterCount(inputSize: 4, hiddenSize: 5, projectionSize: c.projection, layerCount: c.layers,
                                               bidirectional: c.bidirectional, bias: c.bias),
                           lstm.scalarCount, "\(c)")
        }
    }

    /// What a training pass keeps until backward (records, recurrent dropout
    /// masks, the outputs of the layers below the top, the output and the
    /// final state) is the estimate's retained bytes, byte for byte.
    func testRetainedBytesAreWhatATrainingPassKeeps() throws {
        let (batch, steps) = (3, 6)
        for c in cases {
            let lstm = try lstm(c)
            let x = try randomTensor([batch, steps, 4], seed: 5)
            let (output, cache) = try lstm.trainingForward(x, context: LayerContext(dropoutSeed: 1))
            let result = try lstm.forward(x, from: nil, returnSequences: c.returnSequences, context: LayerContext())
            let floats = cache.records.reduce(0) { $0 + $1.count }
                + (cache.recurrentDropoutMasks ?? []).reduce(0) { $0 + $1.count }
                + cache.layerInputs.dropFirst().reduce(0) { $0 + $1.count }
                + output.count + result.finalState.hidden.count + result.finalState.cell.count
            let footprint = try lstm.activationFootprint(inputDimensions: [batch, steps, 4])
            XCTAssertEqual(footprint.retainedBytes, 4 * floats, "\(c)")
            XCTAssertEqual(footprint.outputDimensions, output.dimensions, "\(c)")
        }
    }

    /// Projections shrink the output and the layers' widths; recurrent dropout
    /// costs the plain route's record, and recomputation does not apply to it.
    func testRecurrentDropoutAndProjectionsMoveTheEstimate() throws {
        let dimensions = [8, 20, 16]
        func footprint(projection: Int = 0, recurrentDropout: Bool = false, recomputation: Recomputation = .none) -> ActivationFootprint {
            LSTM.estimatedFootprint(inputSize: 16, hiddenSize: 32, projectionSize: projection, layerCount: 2,
                                    recurrentDropout: recurrentDropout, inputDimensions: dimensions, recomputation: recomputation)
        }
        XCTAssertEqual(footprint(projection: 8).outputDimensions, [8, 20, 8])
        XCTAssertLessThan(footprint(projection: 8).forwardFlops, footprint().forwardFlops)
        XCTAssertGreaterThan(footprint(recurrentDropout: true).retainedBytes, footprint().retainedBytes)
        XCTAssertLessThan(footprint(recomputation: .keepStatesEvery(5)).retainedBytes, footprint().retainedBytes)
        XCTAssertEqual(footprint(recurrentDropout: true, recomputation: .keepStatesEvery(5)).retainedBytes,
                       footprint(recurrentDropout: true).retainedBytes)
    }
}

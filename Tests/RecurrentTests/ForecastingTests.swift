import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Stateful, open-loop and closed-loop forecasts against manual steps and full runs.
final class ForecastingTests: XCTestCase {
    func frame(_ x: Tensor, _ t: Int) throws -> Tensor {
        let (b, steps) = (x.dimensions[0], x.dimensions[1]), per = x.count / (b * steps)
        var values: [Float] = []
        for i in 0 ..< b {
            let start: Int = (i * steps + t) * per
            values += x.scalars[start ..< start + per]
        }
        return try Tensor(shape: Shape([b] + x.dimensions.dropFirst(2)), scalars: values)
    }

    func forecaster() throws -> CNNLSTMForecaster {
        try CNNLSTMForecaster(frameHeight: 8, frameWidth: 6, channels: 1, filters: [2], hiddenSize: 5, seed: 4)
    }

    func fcLSTM() throws -> CNNLSTM {
        try CNNLSTM(features: TimeDistributed(try Sequential([.flatten])), lstm: try LSTM(inputSize: 48, hiddenSize: 7, seed: 1),
                    head: try Dense(inputSize: 7, outputSize: 48, activation: .sigmoid, seed: 2))
    }

    func testClosedLoopEqualsManualStepsFeedingPredictionsBack() throws {
        let context = try randomTensor([2, 4, 8, 6, 1], seed: 1, scale: 0.5)
        for model in [try forecaster() as any NextFrameForecaster, try fcLSTM()] {
            let forecast = try closedLoop(model, context)
            XCTAssertEqual(forecast.dimensions, [2, 3, 8, 6, 1])
            // By hand: a stream over the context, then its predictions fed back.
            var manual: [Tensor] = []
            var prediction = try Tensor(shape: [0])
            try stream(model) { step in
                for t in 0 ..< 4 { prediction = try step(try frame(context, t)) }
                manual.append(prediction)
                for _ in 0 ..< 2 {
                    prediction = try step(prediction)
                    manual.append(prediction)
                }
            }
            for k in 0 ..< 3 { XCTAssertEqual(try frame(forecast, k), manual[k], "step \(k) of \(type(of: model))") }
        }
    }

    func closedLoop(_ model: any NextFrameForecaster, _ context: Tensor) throws -> Tensor {
        try model.forecastClosedLoop(context: context, steps: 3)
    }

    func stream(_ model: some NextFrameForecaster, _ body: ((Tensor) throws -> Tensor) throws -> Void) throws {
        var stream = try ForecastStream(model, batch: 2)
        try body { try stream.step($0) }
    }

    func testOpenLoopAndTheStreamEqualTheFullRun() throws {
        let model = try forecaster()
        let frames = try randomTensor([2, 6, 8, 6, 1], seed: 2, scale: 0.5)
        let full = try model.forward(frames).frames                       // step t predicts frame t + 1
        let context = try Tensor(shape: [2, 3, 8, 6, 1], scalars: try (0 ..< 2).flatMap { b in
            try (0 ..< 3).flatMap { t in try frame(try frames.slice(b ..< b + 1), t).scalars } })
        let actual = try Tensor(shape: [2, 3, 8, 6, 1], scalars: try (0 ..< 2).flatMap { b in
            try (3 ..< 6).flatMap { t in try frame(try frames.slice(b ..< b + 1), t).scalars } })
        let open = try model.forecastOpenLoop(context: context, actual: actual)
        XCTAssertEqual(open.dimensions, [2, 3, 8, 6, 1])
        for k in 0 ..< 3 {
            let result = compare("open loop \(k)", actual: try frame(open, k).scalars, expected: try frame(full, 2 + k).scalars,
                                 atol: 1e-6, rtol: 1e-5)
            XCTAssert(result.passed, "\(result)")
        }
        var stream = try ForecastStream(model, batch: 2)
        var last = try Tensor(shape: [0])
        for t in 0 ..< 6 { last = try stream.step(try frame(frames, t)) }
        XCTAssert(compare("stream", actual: last.scalars, expected: try frame(full, 5).scalars, atol: 1e-6, rtol: 1e-5).passed)
        stream.reset()
        let first = try stream.step(try frame(frames, 0))
        XCTAssert(compare("after reset", actual: first.scalars, expected: try frame(full, 0).scalars, atol: 1e-6, rtol: 1e-5).passed)
        // advance: a chunk of frames at once, in two chunks, equals the full run.
        stream.reset()
        let head = try stream.advance(try frames.slice(0 ..< 2).reshaped(to: [2, 6, 8, 6, 1]))
        XCTAssertEqual(head.dimensions, [2, 6, 8, 6, 1])
        XCTAssert(compare("advance", actual: head.scalars, expected: full.scalars, atol: 1e-6, rtol: 1e-5).passed)
        stream.reset()
        _ = try stream.advance(context)
        let rest = try stream.advance(actual)
        XCTAssert(compare("advance in chunks", actual: try frame(rest, 2).scalars, expected: try frame(full, 5).scalars,
                          atol: 1e-6, rtol: 1e-5).passed)
        XCTAssertThrowsError(try stream.advance(try frame(frames, 0)), "a frame is not a chunk")
        XCTAssertThrowsError(try stream.advance(try randomTensor([3, 2, 8, 6, 1], seed: 3)), "another batch size")
    }

    func testForecastErrors() throws {
        let context = try randomTensor([1, 2, 8, 6, 1], seed: 3)
        XCTAssertThrowsError(try forecaster().forecastClosedLoop(context: context, steps: 0))
        XCTAssertThrowsError(try forecaster().forecastClosedLoop(context: try Tensor(shape: [1, 0, 8, 6, 1]), steps: 2))
        let scalarHead = try CNNLSTM(features: TimeDistributed(try Sequential([.flatten])),
                                     lstm: try LSTM(inputSize: 48, hiddenSize: 3), head: try Dense(inputSize: 3, outputSize: 1))
        XCTAssertThrowsError(try scalarHead.forecastClosedLoop(context: context, steps: 2)) {
            XCTAssertTrue("\($0)".contains("head outputs"), "\($0)")
        }
    }
}

import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// `ConvLSTMForecaster.forecast(context:steps:)`: the horizon a pass, the
/// encoder reading each pass's frames before the next.
final class HorizonForecastTests: XCTestCase {
    private let context = { try! randomTensor([2, 4, 6, 6, 1], seed: 3, scale: 0.5) }()

    func testAHorizonOfOneIsTheClosedLoop() throws {
        let model = try ConvLSTMForecaster(frameHeight: 6, frameWidth: 6, channels: 1, filters: [3], horizon: 1, seed: 2)
        XCTAssertEqual(try model.forecast(context: context, steps: 5), try model.forecastClosedLoop(context: context, steps: 5))
    }

    func testLongerForecastsContinueFromTheFramesForecast() throws {
        let model = try ConvLSTMForecaster(frameHeight: 6, frameWidth: 6, channels: 1, filters: [3, 2], horizon: 3, seed: 4)
        let first = try model.forward(context)
        XCTAssertEqual(try model.forecast(context: context, steps: 3), first)
        let five = try model.forecast(context: context, steps: 5)
        XCTAssertEqual(five.dimensions, [2, 5, 6, 6, 1])
        // The second pass reads the context and the three frames forecast, so it is
        // the forward pass over that longer sequence.
        var longer: [Float] = []
        for b in 0 ..< 2 {
            longer += Array(context.scalars[b * 144 ..< (b + 1) * 144])
            longer += Array(first.scalars[b * 108 ..< (b + 1) * 108])
        }
        let second = try model.forward(try Tensor(shape: [2, 7, 6, 6, 1], scalars: longer))
        for b in 0 ..< 2 {
            let got = Array(five.scalars[b * 180 ..< (b + 1) * 180])
            XCTAssertEqual(Array(got[0 ..< 108]), Array(first.scalars[b * 108 ..< (b + 1) * 108]))
            requireClose(compare("pass 2, sequence \(b)", actual: Array(got[108 ..< 180]),
                                 expected: Array(second.scalars[b * 108 ..< b * 108 + 72]), atol: 1e-6, rtol: 1e-5))
        }
        XCTAssertThrowsError(try model.forecast(context: context, steps: 0))
    }
}

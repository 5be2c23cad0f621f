import Foundation
import FrameSequencing
import Recurrent
import XCTest
@testable import FrameseqCLI

/// Models start predicting about the training frames' mean: the sigmoid
/// output layer's bias is the logit of the mean, per output channel (per
/// pixel for the FC-LSTM's and FC-GRU's Dense), so dark frames are not learned by
/// saturating the recurrent states.
final class OutputPriorTests: XCTestCase {
    func logit(_ p: Float) -> Float { log(p / (1 - p)) }

    func testEachModelStartsNearTheMeanFrame() throws {
        let shape = try FrameShape(height: 8, width: 8, channels: 3)
        // A dark mean frame whose channels differ: 0.02, 0.05, 0.10 (and 0 clamped to 0.001 at one pixel).
        var mean: [Float] = (0 ..< 8 * 8).flatMap { _ -> [Float] in [0.02, 0.05, 0.10] }
        mean[0] = 0
        for (kind, patch) in [(ModelKind.convLSTM, 1), (.convLSTM, 2), (.cnnLSTM, 1), (.fcLSTM, 1), (.fcGRU, 1), (.unet, 1), (.unet, 2)] {
            var settings = ModelSettings(kind: kind, frameShape: shape, hiddenSize: 8, filters: [4, 4], kernelSize: 3, seed: 3)
            settings.patch = patch
            if patch > 1 && kind == .convLSTM { settings.embedding = 4 }
            let modelMean = patch > 1 ? try SpaceToDepth(blockSize: patch).apply(to: try Tensor(shape: [8, 8, 3], scalars: mean)).scalars
                                      : mean
            let fresh = try settings.makeModel()
            let primed = try initializingOutputPrior(fresh, mean: modelMean)
            let frame = settings.modelFrameShape
            var generator = SeededGenerator(seed: 4)
            let count = 2 * 3 * frame.featureCount
            let inputs = try Tensor(shape: [2, 3, frame.height, frame.width, frame.channels],
                                    scalars: (0 ..< count).map { _ in Float(generator.next() % 1000) / 10_000 })
            let before = try fresh.forward(inputs, context: LayerContext()).scalars
            let after = try primed.forward(inputs, context: LayerContext()).scalars
            func distance(_ p: [Float]) -> Double {
                var sum = 0.0
                for (i, v) in p.enumerated() { let d = Double(v - modelMean[i % modelMean.count]); sum += d * d }
                return sum / Double(p.count)
            }
            XCTAssertGreaterThan(distance(before), 0.05, "\(kind) patch \(patch): a zero bias starts near 0.5")
            XCTAssertLessThan(distance(after), 0.01, "\(kind) patch \(patch): the prior starts near the mean frame")
            // One bias per (patched) channel: the channel's mean over the frame's positions.
            func checkChannels(_ bias: Tensor?) {
                for c in 0 ..< frame.channels {
                    let values = stride(from: c, to: modelMean.count, by: frame.channels).map { modelMean[$0] }
                    let expected = logit(max(values.reduce(0, +) / Float(values.count), 1e-3))
                    XCTAssertEqual(bias?.scalars[c] ?? .nan, expected, accuracy: 1e-5, "\(kind) patch \(patch) channel \(c)")
                }
            }
            /// The CNN-LSTM's Conv2DTranspose per channel; the FC models' Dense per pixel, with a zero kernel.
            func checkDecoder(_ decoder: TimeDistributed) {
                guard let last = decoder.model.layers.last(where: { $0 is Conv2DTranspose || $0 is Dense }) else {
                    return XCTFail("\(kind): no output layer")
                }
                if let dense = last as? Dense {
                    XCTAssertEqual(dense.bias.scalars[0], logit(1e-3), accuracy: 1e-5, "the clamped pixel")
                    XCTAssertEqual(dense.bias.scalars[4], logit(0.05), accuracy: 1e-5, "per pixel")
                    XCTAssert(dense.weight.scalars.allSatisfy { $0 == 0 }, "\(kind): the FC head starts at zero")
                    // (but for the pixel whose mean 0 was clamped to 0.001: 6 of 1152 outputs off by 0.001, 5.2e-9)
                    XCTAssertEqual(distance(after), 0, accuracy: 1e-8, "\(kind): so it forecasts the mean frame itself")
                } else if let layer = last as? Conv2DTranspose {
                    XCTAssertEqual(layer.bias!.scalars[2], logit(0.10), accuracy: 1e-5, "per channel")
                } else {
                    XCTFail("\(kind): \(type(of: last))")
                }
            }
            switch primed {
            case let model as ConvLSTMForecaster:
                checkChannels(model.head.bias)
            case let model as UNetForecaster:
                checkChannels(model.head.bias)
            case let model as CNNLSTMForecaster:
                checkDecoder(model.decoder)
            case let model as CNNGRUForecaster:
                checkDecoder(model.decoder)
            default: XCTFail("\(kind): \(type(of: primed))")
            }
        }
    }
}

import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// The encoder-forecaster, Keras initialization and weight interop of ConvLSTM2D.
final class ConvLSTMModelTests: XCTestCase {
    func tinyForecaster(horizon: Int, kernel: (Int, Int) = (3, 3), seed: UInt64 = 90) throws -> ConvLSTMForecaster {
        let encoder = [try smallConvLSTM(channels: 1, filters: 2, kernel: kernel, seed: seed),
                       try smallConvLSTM(channels: 2, filters: 3, kernel: kernel, seed: seed + 10)]
        let forecaster = [try smallConvLSTM(channels: 1, filters: 2, kernel: kernel, seed: seed + 20),
                          try smallConvLSTM(channels: 2, filters: 3, kernel: kernel, seed: seed + 30)]
        let head = try Conv2D(kernel: randomTensor([1, 1, 5, 1], seed: seed + 40), bias: randomTensor([1], seed: seed + 41),
                              activation: .sigmoid)
        return try ConvLSTMForecaster(encoder: encoder, forecaster: forecaster, head: head, horizon: horizon)
    }

    /// k frames out; the forecaster starts from the encoder's states on zero
    /// inputs, so the first of k forecast frames is the one-frame forecast, and
    /// the whole forecast equals the layers composed by hand.
    func testForecastShapesAndComposition() throws {
        let frames = try randomTensor([2, 4, 5, 4, 1], seed: 91)
        let three = try tinyForecaster(horizon: 3)
        let one = try ConvLSTMForecaster(encoder: three.encoder, forecaster: three.forecaster, head: three.head, horizon: 1)
        let forecast = try three.forward(frames)
        XCTAssertEqual(forecast.dimensions, [2, 3, 5, 4, 1])
        let next = try one.forward(frames)
        XCTAssertEqual(next.dimensions, [2, 1, 5, 4, 1])
        let perFrame = 5 * 4
        for b in 0 ..< 2 {
            XCTAssertEqual(Array(forecast.scalars[b * 3 * perFrame ..< (b * 3 + 1) * perFrame]),
                           Array(next.scalars[b * perFrame ..< (b + 1) * perFrame]))
        }
        // By hand: encoder states, forecaster on zeros, 1 x 1 head on the concatenated states.
        let e0 = try three.encoder[0].forward(frames)
        let e1 = try three.encoder[1].forward(e0.output)
        let f0 = try three.forecaster[0].forward(try Tensor(shape: [2, 3, 5, 4, 1]), initialState: e0.finalState).output
        let f1 = try three.forecaster[1].forward(f0, initialState: e1.finalState).output
        var expected: [Float] = []
        let (w, bias) = (three.head.kernel.scalars, three.head.bias!.scalars[0])
        for pixel in 0 ..< 2 * 3 * perFrame {
            var z = bias
            for c in 0 ..< 2 { z += f0.scalars[pixel * 2 + c] * w[c] }
            for c in 0 ..< 3 { z += f1.scalars[pixel * 3 + c] * w[2 + c] }
            expected.append(1 / (1 + exp(-z)))
        }
        requireClose(compare("forecast", actual: forecast.scalars, expected: expected, atol: 1e-6, rtol: 1e-5))
        let (training, _) = try three.trainingForward(frames)
        XCTAssertEqual(training, forecast)
        let paper = try ConvLSTMForecaster(frameHeight: 6, frameWidth: 5, channels: 2, filters: [4, 3], horizon: 2, seed: 1)
        XCTAssertEqual(try paper.forward(try randomTensor([1, 3, 6, 5, 2], seed: 92)).dimensions, [1, 2, 6, 5, 2])
    }

    /// Finite differences through the whole model: the frames and a parameter of every part.
    func testForecasterFiniteDifferences() throws {
        var model = try tinyForecaster(horizon: 2, kernel: (2, 2), seed: 93)   // small, and an even kernel
        let frames = try randomTensor([1, 2, 3, 3, 1], seed: 94)
        let (output, cache) = try model.trainingForward(frames)
        let g = try randomTensor(output.dimensions, seed: 95)
        var gradients = model.zeroGradients()
        let dFrames = try model.backward(outputGradient: g, cache: cache, into: &gradients)
        let typed = try model.parts(of: gradients)
        let original = model
        func loss(_ m: ConvLSTMForecaster, _ x: Tensor) throws -> Double { dot(try m.forward(x), g) }
        var results = [try finiteDifferenceCheck("frames", frames, analytic: dFrames) { try loss(model, $0) }]
        let parts: [(String, WritableKeyPath<ConvLSTMForecaster, Tensor>, Tensor)] = [
            ("encoder 0 kernel", \.encoder[0].kernel, typed.encoder[0].kernel),
            ("encoder 1 recurrent kernel", \.encoder[1].recurrentKernel, typed.encoder[1].recurrentKernel),
            ("forecaster 0 bias", \.forecaster[0].bias, typed.forecaster[0].bias),
            ("forecaster 1 recurrent kernel", \.forecaster[1].recurrentKernel, typed.forecaster[1].recurrentKernel),
            ("head kernel", \.head.kernel, typed.head.kernel),
        ]
        for (name, path, analytic) in parts {
            results.append(try finiteDifferenceCheck(name, original[keyPath: path], analytic: analytic) { value in
                model = original
                model[keyPath: path] = value
                return try loss(model, frames)
            })
        }
        XCTAssertEqual(typed.forecaster[0].kernel.scalars.allSatisfy { $0 == 0 }, true)   // zero input frames
        let worst = results.max { $0.worstError < $1.worstError }!
        print("ConvLSTMForecaster finite differences: worst \(worst.name) \(worst.worstError)")
        for result in results where !result.passed { XCTFail("\(result)") }
    }

    /// Keras's initializers: Glorot-uniform kernel, orthogonal recurrent kernel,
    /// unit forget bias; seeded.
    func testKerasInitialization() throws {
        let layer = try ConvLSTM2D(inputChannels: 3, filters: 4, kernelSize: (3, 2), seed: 7)
        XCTAssertEqual(try ConvLSTM2D(inputChannels: 3, filters: 4, kernelSize: (3, 2), seed: 7).kernel, layer.kernel)
        let limit = (6 / Float(3 * 2 * 3 + 3 * 2 * 16)).squareRoot()
        XCTAssert(layer.kernel.scalars.allSatisfy { abs($0) <= limit })
        XCTAssertEqual(layer.bias.scalars, [0, 0, 0, 0, 1, 1, 1, 1] + [Float](repeating: 0, count: 8))
        // (KH * KW * F, 4F) = (24, 16): orthonormal columns.
        let r = layer.recurrentKernel.scalars
        for i in 0 ..< 16 {
            for j in 0 ..< 16 {
                let dot = (0 ..< 24).reduce(Float(0)) { $0 + r[$1 * 16 + i] * r[$1 * 16 + j] }
                XCTAssertEqual(dot, i == j ? 1 : 0, accuracy: 1e-5)
            }
        }
        // 1 x 1: (F, 4F) has more columns than rows: orthonormal rows.
        let small = try ConvLSTM2D(inputChannels: 1, filters: 2, kernelSize: (1, 1), seed: 8).recurrentKernel.scalars
        for i in 0 ..< 2 {
            for j in 0 ..< 2 {
                XCTAssertEqual((0 ..< 8).reduce(Float(0)) { $0 + small[i * 8 + $1] * small[j * 8 + $1] }, i == j ? 1 : 0,
                               accuracy: 1e-5)
            }
        }
        let withPeepholes = try ConvLSTM2D(inputChannels: 1, filters: 2, kernelSize: (3, 3), strides: (2, 2),
                                           peepholeFrame: (9, 8), seed: 9)
        XCTAssertEqual(withPeepholes.peepholes?.output.dimensions, [4, 3, 2])
    }

    /// Keras weights out and back in, by tensors and by file, peepholes kept in the file.
    func testKerasRoundTrip() throws {
        let layer = try smallConvLSTM(channels: 2, filters: 3, kernel: (3, 2), strides: (2, 1), padding: .valid,
                                      peepholeGrid: (3, 4), seed: 96)
        let plain = try ConvLSTM2D(kerasKernel: layer.kernel, recurrentKernel: layer.recurrentKernel, bias: layer.bias,
                                   strides: (2, 1), padding: .valid, goBackwards: true)
        let weights = try plain.kerasWeights()
        XCTAssertEqual([weights.kernel, weights.recurrentKernel, weights.bias], [layer.kernel, layer.recurrentKernel, layer.bias])
        XCTAssertTrue(plain.isReversed)
        let directory = try TestData.temporaryDirectory("convlstm-keras")
        try layer.kerasSafeTensors(prefix: "conv_lstm2d.").write(to: directory + "/layer.safetensors")
        let read = try ConvLSTM2D(keras: SafeTensors.read(contentsOf: directory + "/layer.safetensors"), prefix: "conv_lstm2d.",
                                  strides: (2, 1), padding: .valid)
        XCTAssertEqual(read.peepholes, layer.peepholes)
        let x = try randomTensor([1, 2, 7, 5, 2], seed: 97)
        XCTAssertEqual(try read.forward(x).output, try layer.forward(x).output)
    }
}

/// The 1 x 1 frame embedding that patched frames go through (192 channels of
/// an 8 x 8 RGB patch to a few): the embedded model is the embedding applied
/// by hand and then the model without it, and its gradients match finite
/// differences for narrow and wide inputs.
final class ConvLSTMEmbeddingTests: XCTestCase {
    func testEmbeddedForecastIsTheEmbeddingThenTheModel() throws {
        for channels in [4, 48] {
            let model = try ConvLSTMForecaster(frameHeight: 5, frameWidth: 4, channels: channels, filters: [4, 3],
                                               embeddingFilters: 6, seed: 7)
            let embedding = try XCTUnwrap(model.embedding)
            let frames = try randomTensor([2, 3, 5, 4, channels], seed: 8)
            let plain = try ConvLSTMForecaster(encoder: model.encoder, forecaster: model.forecaster, head: model.head,
                                               horizon: model.horizon)
            let perFrame = try embedding.forward(try frames.reshaped(to: [6, 5, 4, channels]))
            let expected = try plain.forward(try perFrame.reshaped(to: [2, 3, 5, 4, 6]))
            requireClose(compare("\(channels) channels", actual: try model.forward(frames).scalars,
                                 expected: expected.scalars, atol: 1e-6, rtol: 1e-5))
        }
    }

    func testEmbeddedForecasterFiniteDifferences() throws {
        for channels in [3, 48] {
            var model = try ConvLSTMForecaster(frameHeight: 3, frameWidth: 3, channels: channels, filters: [3, 2],
                                               kernelSize: (2, 2), embeddingFilters: 4, seed: 11)
            let frames = try randomTensor([1, 2, 3, 3, channels], seed: 12)
            let (output, cache) = try model.trainingForward(frames)
            let g = try randomTensor(output.dimensions, seed: 13)
            var gradients = model.zeroGradients()
            let dFrames = try model.backward(outputGradient: g, cache: cache, into: &gradients)
            let typed = try model.parts(of: gradients)
            let original = model
            func loss(_ m: ConvLSTMForecaster, _ x: Tensor) throws -> Double { dot(try m.forward(x), g) }
            var results = [try finiteDifferenceCheck("\(channels): frames", frames, analytic: dFrames) { try loss(model, $0) }]
            let embedding = try XCTUnwrap(typed.embedding)
            let parts: [(String, WritableKeyPath<ConvLSTMForecaster, Tensor>, Tensor)] = [
                ("embedding kernel", \.embedding!.kernel, embedding.kernel),
                ("embedding bias", \.embedding!.bias!, embedding.bias!),
                ("encoder 0 kernel", \.encoder[0].kernel, typed.encoder[0].kernel),
                ("head kernel", \.head.kernel, typed.head.kernel),
            ]
            for (name, path, analytic) in parts {
                XCTAssertTrue(analytic.scalars.contains { $0 != 0 }, "\(channels): \(name) gradient is not all zero")
                results.append(try finiteDifferenceCheck("\(channels): \(name)", original[keyPath: path], analytic: analytic) { value in
                    model = original
                    model[keyPath: path] = value
                    return try loss(model, frames)
                })
            }
            for result in results where !result.passed { XCTFail("\(result)") }
        }
    }
}

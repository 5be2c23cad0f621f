import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Sequential, TimeDistributed and the CNN-LSTM models: equal to per-timestep
/// loops, finite differences through whole models, shapes and errors.
final class ModelTests: XCTestCase {
    /// Frame `t` of every sequence of `x` (B, T, ...) as (B, ...).
    func timestep(_ x: Tensor, _ t: Int) throws -> Tensor {
        let (b, steps) = (x.dimensions[0], x.dimensions[1])
        let per = x.count / (b * steps)
        let values = x.scalars
        var picked: [Float] = []
        for i in 0 ..< b {
            let start: Int = (i * steps + t) * per
            picked += values[start ..< start + per]
        }
        return try Tensor(shape: Shape([b] + x.dimensions.dropFirst(2)), scalars: picked)
    }

    /// (B, T, ...) from T tensors (B, ...).
    func stacked(_ steps: [Tensor]) throws -> Tensor {
        let b = steps[0].dimensions[0], per = steps[0].count / b
        var values: [Float] = []
        for i in 0 ..< b { for s in steps { values += s.scalars[i * per ..< (i + 1) * per] } }
        return try Tensor(shape: Shape([b, steps.count] + steps[0].dimensions.dropFirst()), scalars: values)
    }

    func perFrameStack(activation: Activation = .relu) throws -> Sequential {
        try Sequential([
            .conv2D(Conv2D(inputChannels: 2, filters: 3, kernelSize: (3, 2), padding: .same, activation: activation, seed: 4)),
            .maxPool2D(MaxPool2D(poolSize: (2, 2), padding: .same)),
            .flatten,
            .dense(Dense(inputSize: 4 * 3 * 3, outputSize: 5, activation: .tanh, seed: 5)),
        ])
    }

    func testTimeDistributedEqualsAPerTimestepLoop() throws {
        let model = TimeDistributed(try perFrameStack())
        let x = try randomTensor([2, 3, 7, 6, 2], seed: 11)
        let (y, cache) = try model.trainingForward(x)
        XCTAssertEqual(y.dimensions, [2, 3, 5])
        XCTAssertEqual(try model.outputDimensions(forInput: x.dimensions), [2, 3, 5])
        let g = try randomTensor(y.dimensions, seed: 12)
        var gradients = model.zeroGradients()
        let dx = try model.backward(outputGradient: g, cache: cache, into: &gradients)

        var loopGradients = model.zeroGradients()
        var outputs: [Tensor] = [], inputGradients: [Tensor] = []
        for t in 0 ..< 3 {
            let (yt, ct) = try model.model.trainingForward(try timestep(x, t))
            outputs.append(yt)
            inputGradients.append(try model.model.backward(outputGradient: try timestep(g, t), cache: ct, into: &loopGradients))
        }
        // The loop sums the timesteps' products in another order: round-off only.
        try assertClose(compare("output", actual: y.scalars, expected: try stacked(outputs).scalars, atol: 1e-6, rtol: 1e-6))
        try assertClose(compare("input gradient", actual: dx.scalars, expected: try stacked(inputGradients).scalars,
                                atol: 1e-6, rtol: 1e-6))
        for (index, (a, b)) in zip(gradients.layers, loopGradients.layers).enumerated() {
            try assertClose(compare("layer \(index) gradients", actual: flat(a), expected: flat(b), atol: 1e-5, rtol: 1e-5))
        }
        XCTAssertEqual(gradients.layers.map { flat($0).isEmpty }, [false, true, true, false])
    }

    func testFusedConvolutionAndPoolingEqualTheTwoLayers() throws {
        let configurations: [(Activation, ConvolutionPadding, MaxPool2D)] = [
            (.relu, .valid, try MaxPool2D(poolSize: (2, 2))),
            (.tanh, .same, try MaxPool2D(poolSize: (3, 3), strides: (2, 2), padding: .same)),   // overlapping windows
            (.sigmoid, .valid, try MaxPool2D(poolSize: (2, 3), strides: (1, 2))),
        ]
        for (activation, padding, pool) in configurations {
            let conv = try Conv2D(inputChannels: 2, filters: 5, kernelSize: (3, 2), padding: padding, activation: activation, seed: 8)
            let stack = try Sequential([.conv2D(conv), .maxPool2D(pool)])
            let x = try randomTensor([3, 9, 8, 2], seed: 9)
            let (y, cache) = try stack.trainingForward(x)
            let (convolved, convCache) = try conv.trainingForward(x)
            let (pooled, poolCache) = try pool.trainingForward(convolved)
            XCTAssertEqual(y, pooled, "\(activation) \(padding)")
            XCTAssertEqual(try stack.forward(x), pooled)
            let g = try randomTensor(y.dimensions, seed: 10)
            var gradients = stack.zeroGradients()
            let dx = try stack.backward(outputGradient: g, cache: cache, into: &gradients)
            var separate = conv.zeroGradients()
            let dxSeparate = try conv.backward(outputGradient: try pool.backward(outputGradient: g, cache: poolCache),
                                               cache: convCache, into: &separate)
            try assertClose(compare("input gradient", actual: dx.scalars, expected: dxSeparate.scalars, atol: 1e-6, rtol: 1e-6))
            guard let fused = gradients.layers[0] as? Conv2D.Gradients else { return XCTFail("layer 0 has no Conv2D gradients") }
            try assertClose(compare("kernel gradient", actual: fused.kernel.scalars, expected: separate.kernel.scalars,
                                    atol: 1e-6, rtol: 1e-6))
            try assertClose(compare("bias gradient", actual: fused.bias!.scalars, expected: separate.bias!.scalars,
                                    atol: 1e-6, rtol: 1e-6))
        }
    }

    func testTimeMajorInputFoldsTheSameWay() throws {
        let model = TimeDistributed(try perFrameStack())
        let x = try randomTensor([2, 3, 7, 6, 2], seed: 13)       // (B, T, ...)
        var timeMajor: [Float] = []
        for t in 0 ..< 3 { timeMajor += try timestep(x, t).scalars }
        let y = try model.forward(x)
        let yTimeMajor = try model.forward(try Tensor(shape: [3, 2, 7, 6, 2], scalars: timeMajor))
        XCTAssertEqual(yTimeMajor.dimensions, [3, 2, 5])
        for t in 0 ..< 3 {
            XCTAssertEqual(Array(yTimeMajor.scalars[t * 10 ..< (t + 1) * 10]), try timestep(y, t).scalars)
        }
    }

    func testCNNLSTMFiniteDifferencesThroughEveryPart() throws {
        // tanh and a strided convolution instead of ReLU and pooling: no kinks
        // for the central differences to straddle (those layers have their own checks).
        let features = TimeDistributed(try Sequential([
            .conv2D(Conv2D(inputChannels: 1, filters: 2, kernelSize: (3, 3), strides: (2, 2), activation: .tanh, seed: 1)),
            .flatten,
        ]))
        for returnSequences in [false, true] {
            var model = try CNNLSTM(features: features, lstm: try LSTM(inputSize: 8, hiddenSize: 3, seed: 2),
                                    head: try Dense(inputSize: 3, outputSize: 2, seed: 3), returnSequences: returnSequences)
            let x = try randomTensor([2, 3, 5, 6, 1], seed: 4)
            let (y, cache) = try model.trainingForward(x)
            XCTAssertEqual(y.dimensions, returnSequences ? [2, 3, 2] : [2, 2])
            let g = try randomTensor(y.dimensions, seed: 5)
            var gradients = model.zeroGradients()
            let dx = try model.backward(outputGradient: g, cache: cache, into: &gradients)
            let original = model
            func loss() throws -> Double { dot(try model.forward(x), g) }
            let (lstmGradients, headGradients) = (try gradients.layer(1, as: LSTMGradients.self), try gradients.layer(2, as: Dense.Gradients.self))
            guard let conv = original.features.model.layers[0] as? Conv2D,
                  let convGradients = try gradients.layer(0, as: Sequential.Gradients.self).layers[0] as? Conv2D.Gradients else {
                return XCTFail("layer 0 is not a Conv2D")
            }
            let results = [
                try finiteDifferenceCheck("input", x, analytic: dx) { dot(try model.forward($0), g) },
                try finiteDifferenceCheck("conv kernel", conv.kernel, analytic: convGradients.kernel) {
                    var changed = conv; changed.kernel = $0
                    model.features.model.layers[0] = .conv2D(changed); defer { model = original }; return try loss()
                },
                try finiteDifferenceCheck("lstm input weights", original.lstm.layers[0].inputWeights,
                                          analytic: lstmGradients.layers[0].inputWeights) {
                    model.lstm.layers[0].inputWeights = $0; defer { model = original }; return try loss()
                },
                try finiteDifferenceCheck("head weight", original.head.weight, analytic: headGradients.weight) {
                    model.head.weight = $0; defer { model = original }; return try loss()
                },
            ]
            for result in results { try assertClose(result) }
        }
    }

    func testForecasterFiniteDifferencesAndFrameSize() throws {
        var model = try CNNLSTMForecaster(frameHeight: 5, frameWidth: 7, channels: 2, filters: [3], hiddenSize: 4, seed: 6)
        // tanh instead of ReLU, and a 2 x 2 stride-2 convolution in place of the
        // pooling (same output size), so the differences straddle no kink or
        // near-tie of a maximum (pooling has its own finite-difference test).
        func smooth(_ layers: [any Layer]) throws -> [any Layer] {
            try layers.map { layer -> any Layer in
                if layer is MaxPool2D {
                    return try Conv2D(inputChannels: 3, filters: 3, kernelSize: (2, 2), strides: (2, 2),
                                      padding: .same, activation: .tanh, seed: 12)
                }
                if var l = layer as? Conv2D { l.activation = .tanh; return l }
                if var l = layer as? Conv2DTranspose, l.activation == .relu { l.activation = .tanh; return l }
                if var l = layer as? Dense { l.activation = .tanh; return l }
                return layer
            }
        }
        model.encoder.model.layers = try smooth(model.encoder.model.layers)
        model.decoder.model.layers = try smooth(model.decoder.model.layers)
        let x = try randomTensor([1, 3, 5, 7, 2], seed: 7)
        let (y, cache) = try model.trainingForward(x)
        XCTAssertEqual(y.dimensions, x.dimensions, "the prediction has the frames' size (cropped from 6 x 8)")
        let g = try randomTensor(y.dimensions, seed: 8)
        var gradients = model.zeroGradients()
        let dx = try model.backward(outputGradient: g, cache: cache, into: &gradients)
        let original = model
        func loss() throws -> Double { dot(try model.forward(x).frames, g) }
        let decoderGradients = try gradients.layer(2, as: Sequential.Gradients.self)
        let lstmGradients = try gradients.layer(1, as: LSTMGradients.self)
        guard let up = original.decoder.model.layers[2] as? Conv2DTranspose,
              let upGradients = decoderGradients.layers[2] as? Conv2DTranspose.Gradients,
              let dense = original.decoder.model.layers[0] as? Dense,
              let denseGradients = decoderGradients.layers[0] as? Dense.Gradients else { return XCTFail("unexpected decoder layout") }
        let results = [
            try finiteDifferenceCheck("input", x, analytic: dx) { dot(try model.forward($0).frames, g) },
            try finiteDifferenceCheck("decoder Conv2DTranspose kernel", up.kernel, analytic: upGradients.kernel) {
                var changed = up; changed.kernel = $0
                model.decoder.model.layers[2] = .conv2DTranspose(changed); defer { model = original }; return try loss()
            },
            try finiteDifferenceCheck("decoder Dense bias", dense.bias, analytic: denseGradients.bias) {
                var changed = dense; changed.bias = $0
                model.decoder.model.layers[0] = .dense(changed); defer { model = original }; return try loss()
            },
            try finiteDifferenceCheck("lstm recurrent weights", original.lstm.layers[0].recurrentWeights,
                                      analytic: lstmGradients.layers[0].recurrentWeights) {
                model.lstm.layers[0].recurrentWeights = $0; defer { model = original }; return try loss()
            },
        ]
        for result in results { try assertClose(result) }
    }

    func testForecasterStateCarriesAcrossCalls() throws {
        let model = try CNNLSTMForecaster(frameHeight: 8, frameWidth: 8, channels: 1, filters: [2, 3], hiddenSize: 6, seed: 9)
        let x = try randomTensor([2, 4, 8, 8, 1], seed: 10)
        let whole = try model.forward(x)
        let first = try model.forward(try stacked([try timestep(x, 0), try timestep(x, 1)]))
        let second = try model.forward(try stacked([try timestep(x, 2), try timestep(x, 3)]), initialState: first.finalState)
        try assertClose(compare("continued", actual: try timestep(second.frames, 1).scalars,
                                expected: try timestep(whole.frames, 3).scalars, atol: 1e-6, rtol: 1e-5))
        XCTAssertEqual(whole.finalState.hidden.dimensions, [1, 2, 6])
    }

    func testPaddedSequencesMatchTheirUnpaddedPrefix() throws {
        let model = try CNNLSTM(frameHeight: 10, frameWidth: 10, channels: 1, filters: [4], hiddenSize: 5, outputs: 2, seed: 3)
        let x = try randomTensor([2, 4, 10, 10, 1], seed: 14)
        let padded = try model.forward(x, lengths: [4, 2])
        let short = try model.forward(try stacked([try timestep(x, 0), try timestep(x, 1)]))
        try assertClose(compare("length 2", actual: Array(padded.scalars[2 ..< 4]), expected: Array(short.scalars[2 ..< 4]),
                                atol: 1e-6, rtol: 1e-5))
    }

    func testErrorsNameTheLayer() throws {
        let model = TimeDistributed(try perFrameStack())
        XCTAssertThrowsError(try model.forward(try Tensor(shape: [2, 3, 7, 6, 1]))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("Layer 0 (Conv2D)"), text)
            XCTAssertTrue(text.contains("(2, 3, 7, 6, 1)") || text.contains("(6, 7, 6, 1)"), text)
        }
        XCTAssertThrowsError(try model.forward(try Tensor(shape: [2, 6]))) { error in
            XCTAssertTrue("\(error)".contains("TimeDistributed input"), "\(error)")
        }
        XCTAssertThrowsError(try Sequential([.reshape([0, 3])]))
        XCTAssertThrowsError(try Sequential([.crop(height: 0, width: 2)]))
        XCTAssertThrowsError(try Sequential([.flatten, .reshape([5])]).forward(try Tensor(shape: [2, 6]))) { error in
            XCTAssertTrue("\(error)".contains("Layer 1 (Reshape)"), "\(error)")
        }
        // A cache from another stack.
        let (_, cache) = try model.trainingForward(try randomTensor([1, 2, 7, 6, 2], seed: 1))
        let other = TimeDistributed(try Sequential([.flatten]))
        var gradients = other.zeroGradients()
        XCTAssertThrowsError(try other.backward(outputGradient: try Tensor(shape: [1, 2, 5]), cache: cache, into: &gradients))
        var wrong = model.zeroGradients()
        XCTAssertThrowsError(try model.backward(outputGradient: try Tensor(shape: [1, 2, 4]), cache: cache, into: &wrong))
        XCTAssertThrowsError(try CNNLSTM(features: model, lstm: try LSTM(inputSize: 5, hiddenSize: 3),
                                         head: try Dense(inputSize: 4, outputSize: 1)))
        XCTAssertThrowsError(try CNNLSTMForecaster(frameHeight: 8, frameWidth: 8, channels: 1, filters: []))
    }

    /// Fails with the comparison's description unless it passed.
    func assertClose(_ result: Comparison, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssert(result.passed, "\(result)", file: file, line: line)
    }

    func flat(_ gradients: any GradientSet) -> [Float] { gradients.tensors.flatMap(\.scalars) }
}

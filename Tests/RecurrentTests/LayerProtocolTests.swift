import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Every layer through the `Layer` protocol gives what its own methods give, bit
/// for bit, and a layer written outside the package works through the protocol.
final class LayerProtocolTests: XCTestCase {
    /// Forward, training forward, backward and the output's dimensions, called
    /// through the protocol only (as `Sequential` and the Trainer will).
    private func throughProtocol<L: Layer>(_ layer: L, _ x: Tensor, _ g: Tensor, context: LayerContext = LayerContext())
        throws -> (output: Tensor, trainingOutput: Tensor, inputGradient: Tensor, gradients: [Tensor], dimensions: [Int]) {
        let output = try layer.forward(x, context: context)
        let (trainingOutput, cache) = try layer.trainingForward(x, context: context)
        var gradients = layer.zeroGradients()
        let inputGradient = try layer.backward(outputGradient: g, cache: cache, into: &gradients)
        return (output, trainingOutput, inputGradient, gradients.tensors, try layer.outputDimensions(forInput: x.dimensions))
    }

    private func check<L: Layer>(_ name: String, _ layer: L, input: [Int], context: LayerContext = LayerContext(),
                                 trainingDiffers: Bool = false,
                                 direct: (Tensor, Tensor) throws -> (output: Tensor, inputGradient: Tensor, gradients: [Tensor]))
        throws {
        let x = try randomTensor(input, seed: 1)
        let y = try layer.forward(x, context: context)
        let g = try randomTensor(y.dimensions, seed: 2)
        let viaProtocol = try throughProtocol(layer, x, g, context: context)
        let expected = try direct(x, g)
        if trainingDiffers {   // dropout: the direct closure returns the training output
            XCTAssertEqual(viaProtocol.trainingOutput, expected.output, "\(name) training forward")
            XCTAssertNotEqual(viaProtocol.output, viaProtocol.trainingOutput, "\(name): dropout must act in training only")
        } else {
            XCTAssertEqual(viaProtocol.output, expected.output, "\(name) forward")
            XCTAssertEqual(viaProtocol.trainingOutput, expected.output, "\(name) training forward")
        }
        XCTAssertEqual(viaProtocol.inputGradient, expected.inputGradient, "\(name) backward")
        XCTAssertEqual(viaProtocol.gradients, expected.gradients, "\(name) parameter gradients")
        XCTAssertEqual(viaProtocol.dimensions, y.dimensions, "\(name) output dimensions")
        XCTAssertEqual(viaProtocol.gradients.count, layer.namedParameters.count, "\(name): one gradient per parameter")
    }

    func testEveryLayerEqualsItsOwnMethods() throws {
        let dense = try Dense(inputSize: 6, outputSize: 4, activation: .tanh, seed: 3)
        try check("Dense", dense, input: [3, 6]) { x, g in
            let (y, c) = try dense.trainingForward(x)
            var grads = dense.zeroGradients()
            let dx = try dense.backward(outputGradient: g, cache: c, into: &grads)
            return (y, dx, [grads.weight, grads.bias])
        }
        let conv = try Conv2D(inputChannels: 2, filters: 3, kernelSize: (3, 3), padding: .same, activation: .relu, seed: 4)
        try check("Conv2D", conv, input: [2, 5, 6, 2]) { x, g in
            let (y, c) = try conv.trainingForward(x)
            var grads = conv.zeroGradients()
            let dx = try conv.backward(outputGradient: g, cache: c, into: &grads)
            return (y, dx, [grads.kernel, grads.bias!])
        }
        let up = try Conv2DTranspose(inputChannels: 2, filters: 3, kernelSize: (3, 3), strides: (2, 2), padding: .same, seed: 5)
        try check("Conv2DTranspose", up, input: [2, 3, 4, 2]) { x, g in
            let (y, c) = try up.trainingForward(x)
            var grads = up.zeroGradients()
            let dx = try up.backward(outputGradient: g, cache: c, into: &grads)
            return (y, dx, [grads.kernel, grads.bias!])
        }
        let pool = try MaxPool2D(poolSize: (2, 2))
        try check("MaxPool2D", pool, input: [2, 5, 4, 3]) { x, g in
            let (y, c) = try pool.trainingForward(x)
            return (y, try pool.backward(outputGradient: g, cache: c), [])
        }
        try check("Flatten", Flatten(), input: [2, 3, 4]) { x, g in
            let (y, c) = try Flatten().trainingForward(x)
            return (y, try Flatten().backward(outputGradient: g, cache: c), [])
        }
        let stack = try Sequential([.conv2D(conv), .maxPool2D(pool), .flatten, .dense(Dense(inputSize: 12, outputSize: 2, seed: 6))])
        try check("Sequential", stack, input: [2, 4, 4, 2]) { x, g in
            let (y, c) = try stack.trainingForward(x)
            var grads = stack.zeroGradients()
            return (y, try stack.backward(outputGradient: g, cache: c, into: &grads), grads.tensors)
        }
        let perFrame = TimeDistributed(stack)
        try check("TimeDistributed", perFrame, input: [2, 3, 4, 4, 2]) { x, g in
            let (y, c) = try perFrame.trainingForward(x)
            var grads = perFrame.zeroGradients()
            return (y, try perFrame.backward(outputGradient: g, cache: c, into: &grads), grads.tensors)
        }
    }

    /// The recurrent layers as layers: every timestep from zero states, lengths and
    /// the dropout seed from the context.
    func testRecurrentLayersReadTheirContext() throws {
        let lstm = try LSTM(inputSize: 5, hiddenSize: 4, layerCount: 2, bidirectional: true, dropout: 0.3, seed: 7)
        let context = LayerContext(lengths: [4, 2, 0], dropoutSeed: 9)
        try check("LSTM", lstm, input: [3, 4, 5], context: context, trainingDiffers: true) { x, g in
            let (r, c) = try lstm.trainingForward(x, lengths: [4, 2, 0], dropoutSeed: 9)
            var grads = lstm.zeroGradients()
            let dx = try lstm.backward(outputGradient: g, finalStateGradient: nil, cache: c, into: &grads).input
            return (r.output, dx, grads.tensors)
        }
        var noDropout = lstm
        noDropout.dropout = 0
        try check("LSTM without dropout", noDropout, input: [3, 4, 5], context: context) { x, g in
            let (r, c) = try noDropout.trainingForward(x, lengths: [4, 2, 0])
            var grads = noDropout.zeroGradients()
            let dx = try noDropout.backward(outputGradient: g, finalStateGradient: nil, cache: c, into: &grads).input
            XCTAssertEqual(try noDropout.forward(x, lengths: [4, 2, 0]).output, r.output)
            return (r.output, dx, grads.tensors)
        }
        let convLSTM = try ConvLSTM2D(inputChannels: 2, filters: 3, kernelSize: (3, 3), padding: .same, seed: 8)
        try check("ConvLSTM2D", convLSTM, input: [2, 3, 4, 5, 2], context: LayerContext(lengths: [3, 1])) { x, g in
            let (r, c) = try convLSTM.trainingForward(x, lengths: [3, 1])
            var grads = convLSTM.zeroGradients()
            let dx = try convLSTM.backward(outputGradient: g, finalStateGradient: nil, cache: c, into: &grads).input
            return (r.output, dx, grads.tensors)
        }
    }

    func testActivationIsALayer() throws {
        for activation in Activation.allCases {
            let x = try randomTensor([3, 7], seed: 10)
            let g = try randomTensor([3, 7], seed: 11)
            let result = try throughProtocol(activation, x, g)
            let dense = try Dense(weight: identity(7), bias: Tensor(shape: [7]), activation: activation)
            let (y, c) = try dense.trainingForward(x)
            var grads = dense.zeroGradients()
            XCTAssertEqual(result.output, y, "\(activation)")
            XCTAssertEqual(result.inputGradient, try dense.backward(outputGradient: g, cache: c, into: &grads), "\(activation)")
            XCTAssertTrue(result.gradients.isEmpty)
        }
    }

    private func identity(_ n: Int) throws -> Tensor {
        try Tensor(shape: [n, n], scalars: (0 ..< n * n).map { $0 / n == $0 % n ? 1 : 0 })
    }

    /// A layer written outside the package: a learned scale per feature. Its
    /// backward, called through the protocol, matches finite differences, and an
    /// optimizer reaches its parameter.
    func testALayerOfYourOwn() throws {
        let layer = Scale(factors: try randomTensor([4], seed: 12))
        let x = try randomTensor([3, 4], seed: 13)
        let g = try randomTensor([3, 4], seed: 14)
        let result = try throughProtocol(layer, x, g)
        func loss(_ factors: Tensor, _ input: Tensor) throws -> Double {
            dot(try Scale(factors: factors).forward(input, context: LayerContext()), g)
        }
        requireClose(try finiteDifferenceCheck("d factors", layer.factors, analytic: result.gradients[0]) { try loss($0, x) })
        requireClose(try finiteDifferenceCheck("d input", x, analytic: result.inputGradient) { try loss(layer.factors, $0) })

        var trained = layer
        var optimizer = try SGD(learningRate: 0.5)
        try trained.withParameters { parameters in try optimizer.step(parameters: &parameters, gradients: result.gradients) }
        XCTAssertEqual(trained.factors.scalars[0], layer.factors.scalars[0] - 0.5 * result.gradients[0].scalars[0], accuracy: 1e-6)
    }
}

/// y = x * factors along the last axis: the smallest layer with a parameter.
private struct Scale: Layer {
    var factors: Tensor

    struct Gradients: GradientSet {
        var factors: Tensor
        var tensors: [Tensor] { [factors] }
        mutating func zero() { factors = try! Tensor(shape: factors.shape) }
    }

    var namedParameters: [(name: String, tensor: Tensor)] { [("factors", factors)] }
    mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows { try body(0, &factors) }
    func zeroGradients() -> Gradients { Gradients(factors: Tensor(zerosLike: factors)) }

    func outputDimensions(forInput dimensions: [Int]) -> [Int] { dimensions }

    func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        let n = factors.count
        return try Tensor(shape: input.shape, scalars: input.scalars.enumerated().map { $1 * factors.scalars[$0 % n] })
    }

    func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Tensor) {
        (try forward(input, context: context), input)
    }

    func backward(outputGradient: Tensor, cache input: Tensor, into gradients: inout Gradients) throws -> Tensor {
        let n = factors.count
        var dFactors = gradients.factors.scalars
        for (i, g) in outputGradient.scalars.enumerated() { dFactors[i % n] += g * input.scalars[i] }
        gradients.factors = try Tensor(shape: factors.shape, scalars: dFactors)
        return try Tensor(shape: input.shape, scalars: outputGradient.scalars.enumerated().map { $1 * factors.scalars[$0 % n] })
    }
}

/// Your own layer inside the package's containers.
final class SequentialOfAnyLayerTests: XCTestCase {
    func testYourLayerInASequentialTrainsAsTheStackDoes() throws {
        let dense = try Dense(inputSize: 3, outputSize: 4, seed: 21)
        let scale = Scale(factors: try randomTensor([4], seed: 22))
        let stack = try Sequential([dense, scale, .activation(.tanh)])
        XCTAssertEqual(stack.namedParameters.map(\.name), ["0.weight", "0.bias", "1.factors"])

        let x = try randomTensor([5, 3], seed: 23)
        let (y, cache) = try stack.trainingForward(x)
        let g = try randomTensor(y.dimensions, seed: 24)
        var gradients = stack.zeroGradients()
        let dx = try stack.backward(outputGradient: g, cache: cache, into: &gradients)

        // The same three layers by hand.
        let (a, denseCache) = try dense.trainingForward(x)
        let (b, scaleCache) = try scale.trainingForward(a, context: LayerContext())
        let (c, tanhCache) = try Activation.tanh.trainingForward(b, context: LayerContext())
        XCTAssertEqual(y, c)
        var none = NoGradients()
        var scaleGradients = scale.zeroGradients()
        var denseGradients = dense.zeroGradients()
        let db = try Activation.tanh.backward(outputGradient: g, cache: tanhCache, into: &none)
        let da = try scale.backward(outputGradient: db, cache: scaleCache, into: &scaleGradients)
        XCTAssertEqual(dx, try dense.backward(outputGradient: da, cache: denseCache, into: &denseGradients))
        XCTAssertEqual(gradients.tensors, denseGradients.tensors + scaleGradients.tensors)

        // An optimizer reaches the user's parameter through the stack.
        var trained = stack
        var optimizer = try SGD(learningRate: 0.1)
        try trained.withParameters { try optimizer.step(parameters: &$0, gradients: gradients.tensors) }
        let factors = try XCTUnwrap(trained.layers[1] as? Scale).factors
        XCTAssertEqual(factors.scalars[1], scale.factors.scalars[1] - 0.1 * scaleGradients.factors.scalars[1], accuracy: 1e-6)

        // Per frame, with shared weights, and the error names the layer.
        let perFrame = TimeDistributed(stack)
        XCTAssertEqual(try perFrame.forward(try randomTensor([2, 4, 3], seed: 25)).dimensions, [2, 4, 4])
        XCTAssertThrowsError(try stack.forward(try randomTensor([5, 2], seed: 26))) { error in
            XCTAssertTrue("\(error)".hasPrefix("Layer 0 (Dense)"), "\(error)")
        }
    }
}

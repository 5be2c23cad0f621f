import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Finite differences for every input and parameter of the convolution and
/// pooling layers, with a random upstream gradient, on tiny shapes.
final class ConvolutionGradientTests: XCTestCase {
    /// Configurations small enough for central differences on every element.
    let cases = [
        ConvolutionCase(batch: 2, height: 5, width: 6, channels: 2, filters: 3, kernel: (2, 3), strides: (2, 1),
                        dilation: (1, 2), padding: .same),
        ConvolutionCase(batch: 1, height: 6, width: 5, channels: 3, filters: 2, kernel: (3, 2), strides: (1, 2),
                        dilation: (2, 1), padding: .valid),
        ConvolutionCase(batch: 2, height: 3, width: 4, channels: 1, filters: 2, kernel: (3, 3), strides: (3, 2),
                        padding: .same),
    ]

    /// The first input, from seed 1 on, whose pre-activations all lie farther
    /// than 0.012 from ReLU's kink, where a central difference is wrong. A nudge
    /// of 1e-2 moves a pre-activation by at most 1e-2 times an input (|x| <= 1),
    /// a kernel value (Glorot, below 1) or 1 (the bias), so 0.012 is enough; a
    /// wider margin would reject nearly every seed at a hundred outputs.
    func inputAwayFromTheKink(_ shape: [Int], activation: Activation, preActivation: (Tensor) throws -> Tensor) throws
        -> Tensor {
        var seed: UInt64 = 1
        var x = try randomTensor(shape, seed: seed)
        while activation == .relu, try preActivation(x).scalars.contains(where: { abs($0) < 0.012 }) {
            seed += 1
            x = try randomTensor(shape, seed: seed)
        }
        return x
    }

    func testConv2DFiniteDifferences() throws {
        for (index, test) in cases.enumerated() {
            for activation in Activation.allCases {
                var conv = try Conv2D(inputChannels: test.channels, filters: test.filters, kernelSize: test.kernel,
                                      strides: test.strides, dilation: test.dilation, padding: test.padding,
                                      useBias: index != 1, activation: activation, seed: 2)
                conv.bias = try conv.bias.map { _ in try randomTensor([test.filters], seed: 9, scale: 0.5) }
                var linear = conv
                linear.activation = .linear
                let x = try inputAwayFromTheKink(test.inputShape, activation: activation) { try linear.forward($0) }
                let (y, cache) = try conv.trainingForward(x)
                let g = try randomTensor(y.dimensions, seed: 3)
                var gradients = conv.zeroGradients()
                let dx = try conv.backward(outputGradient: g, cache: cache, into: &gradients)
                let original = conv
                var results = [
                    try finiteDifferenceCheck("input", x, analytic: dx) { dot(try conv.forward($0), g) },
                    try finiteDifferenceCheck("kernel", original.kernel, analytic: gradients.kernel) {
                        conv.kernel = $0; defer { conv = original }; return dot(try conv.forward(x), g)
                    },
                ]
                if let bias = original.bias, let biasGradient = gradients.bias {
                    results.append(try finiteDifferenceCheck("bias", bias, analytic: biasGradient) {
                        conv.bias = $0; defer { conv = original }; return dot(try conv.forward(x), g)
                    })
                }
                for result in results {
                    XCTAssert(result.passed, "\(test) \(activation): \(result)")
                }
                if activation == .tanh { print("Conv2D \(test): " + results.map(\.description).joined(separator: "; ")) }
            }
        }
    }

    func testConv2DTransposeFiniteDifferences() throws {
        for (index, test) in cases.enumerated() {
            for activation in Activation.allCases {
                var layer = try Conv2DTranspose(
                    inputChannels: test.channels, filters: test.filters, kernelSize: test.kernel,
                    strides: test.strides, dilation: test.dilation, padding: test.padding,
                    useBias: index != 1, activation: activation, seed: 4)
                layer.bias = try layer.bias.map { _ in try randomTensor([test.filters], seed: 8, scale: 0.5) }
                var linear = layer
                linear.activation = .linear
                let x = try inputAwayFromTheKink(test.inputShape, activation: activation) { try linear.forward($0) }
                let (y, cache) = try layer.trainingForward(x)
                let g = try randomTensor(y.dimensions, seed: 5)
                var gradients = layer.zeroGradients()
                let dx = try layer.backward(outputGradient: g, cache: cache, into: &gradients)
                let original = layer
                var results = [
                    try finiteDifferenceCheck("input", x, analytic: dx) { dot(try layer.forward($0), g) },
                    try finiteDifferenceCheck("kernel", original.kernel, analytic: gradients.kernel) {
                        layer.kernel = $0; defer { layer = original }; return dot(try layer.forward(x), g)
                    },
                ]
                if let bias = original.bias, let biasGradient = gradients.bias {
                    results.append(try finiteDifferenceCheck("bias", bias, analytic: biasGradient) {
                        layer.bias = $0; defer { layer = original }; return dot(try layer.forward(x), g)
                    })
                }
                for result in results {
                    XCTAssert(result.passed, "\(test) \(activation): \(result)")
                }
                if activation == .tanh {
                    print("Conv2DTranspose \(test): " + results.map(\.description).joined(separator: "; "))
                }
            }
        }
    }

    /// Distinct values 0.1 apart, so a nudge of 1e-2 never changes a window's
    /// winner; overlapping windows (stride below the pool size) check that
    /// gradients of a pixel that wins several windows add up.
    func testMaxPool2DFiniteDifferences() throws {
        let configurations: [(pool: (height: Int, width: Int), strides: (height: Int, width: Int)?, padding: ConvolutionPadding)] = [
            ((2, 2), nil, .valid), ((3, 2), (2, 1), .same), ((3, 3), (2, 2), .valid), ((2, 3), (3, 2), .same),
        ]
        for (index, configuration) in configurations.enumerated() {
            let pool = try MaxPool2D(poolSize: configuration.pool, strides: configuration.strides,
                                     padding: configuration.padding)
            let shape = [2, 5, 7, 3]
            var values = (0 ..< shape.reduce(1, *)).map { Float($0) * 0.1 - 10 }
            var generator = SeededGenerator(seed: UInt64(index))
            generator.shuffle(&values)
            let x = try Tensor(shape: Shape(shape), scalars: values)
            let (y, cache) = try pool.trainingForward(x)
            let g = try randomTensor(y.dimensions, seed: 6)
            let dx = try pool.backward(outputGradient: g, cache: cache)
            let result = try finiteDifferenceCheck("input", x, analytic: dx) { dot(try pool.forward($0), g) }
            XCTAssert(result.passed, "pool \(configuration.pool) \(configuration.padding): \(result)")
            XCTAssertEqual(dot(x, dx), dot(y, g), accuracy: 1e-3)   // max pooling is piecewise linear
        }
    }

    /// Gradients accumulate across backward calls until zeroed.
    func testGradientsAccumulateUntilZeroed() throws {
        let conv = try Conv2D(inputChannels: 2, filters: 3, kernelSize: (2, 2), padding: .same, seed: 1)
        let x = try randomTensor([2, 4, 4, 2], seed: 2)
        let (y, cache) = try conv.trainingForward(x)
        let g = try randomTensor(y.dimensions, seed: 3)
        var once = conv.zeroGradients()
        _ = try conv.backward(outputGradient: g, cache: cache, into: &once)
        var twice = conv.zeroGradients()
        _ = try conv.backward(outputGradient: g, cache: cache, into: &twice)
        _ = try conv.backward(outputGradient: g, cache: cache, into: &twice)
        // Each call adds its per-slab partial sums one by one, so twice is 2 * once
        // up to rounding, not bit for bit.
        for (name, actual, expected) in [("kernel", twice.kernel, once.kernel), ("bias", twice.bias!, once.bias!)] {
            let result = compare(name, actual: actual.scalars, expected: expected.scalars.map { 2 * $0 },
                                 atol: 1e-6, rtol: 1e-6)
            XCTAssert(result.passed, "\(result)")
        }
        twice.zero()
        XCTAssertEqual(twice, conv.zeroGradients())
    }
}

import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// Conv2D, Conv2DTranspose and MaxPool2D backward (every kernel path, both
/// cores, the fused and im2col passes) against the Double loops of their scalar
/// twins, over the same sweep of sizes, strides, dilations and paddings as the
/// forward twins.
final class ConvolutionTwinTests: XCTestCase {
    private let tolerance = (atol: Float(2e-5), rtol: Float(2e-4))

    /// Backward of `layer` on `x` through the `Layer` protocol against `twin`'s
    /// (dInput, dKernel, dBias), or nil when the layer refuses an input that small.
    private func checkBackward<L: Layer>(
        _ test: ConvolutionCase, _ layer: L, seed: UInt64,
        twin: (_ x: Tensor, _ g: Tensor) -> (input: [Float], kernel: [Float], bias: [Float])
    ) throws -> Bool {
        let x = try randomTensor(test.inputShape, seed: seed)
        guard let (y, cache) = try? layer.trainingForward(x, context: LayerContext()) else { return false }
        let g = try randomTensor(y.dimensions, seed: seed + 1)
        var gradients = layer.zeroGradients()
        let dx = try layer.backward(outputGradient: g, cache: cache, into: &gradients)
        let expected = twin(x, g)
        let (dKernel, dBias) = (gradients.tensors[0], gradients.tensors[1])
        for (name, actual, reference) in [("dInput", dx, expected.input), ("dKernel", dKernel, expected.kernel), ("dBias", dBias, expected.bias)] {
            requireClose(compare("\(test) \(name)", actual: actual.scalars, expected: reference, atol: tolerance.atol, rtol: tolerance.rtol))
        }
        return true
    }

    func testConv2DBackwardEqualsTheScalarTwin() throws {
        var checked = 0
        for (index, test) in ConvolutionCase.sweep.enumerated() {
            let layer = try Conv2D(inputChannels: test.channels, filters: test.filters, kernelSize: test.kernel,
                                   strides: test.strides, dilation: test.dilation, padding: test.padding,
                                   useBias: true, activation: .linear, seed: UInt64(index))
            // A layer refusing a small input is checked by the forward twin's test.
            let ran = try checkBackward(test, layer, seed: UInt64(index) + 500) { x, g in
                referenceConvolutionBackward(
                    transposed: false, input: x.scalars, batch: test.batch, height: test.height, width: test.width, channels: test.channels,
                    kernel: layer.kernel.scalars, kernelSize: test.kernel, filters: test.filters, strides: test.strides,
                    dilation: test.dilation, padding: test.padding, outputGradient: g.scalars)
            }
            if ran { checked += 1 }
        }
        XCTAssertGreaterThan(checked, 100)
    }

    func testConv2DTransposeBackwardEqualsTheScalarTwin() throws {
        var checked = 0
        for (index, test) in ConvolutionCase.sweep.enumerated() {
            let layer = try Conv2DTranspose(
                kernel: try randomTensor([test.kernel.height, test.kernel.width, test.filters, test.channels], seed: UInt64(index)),
                bias: try randomTensor([test.filters], seed: UInt64(index) + 1),
                strides: test.strides, dilation: test.dilation, padding: test.padding)
            let ran = try checkBackward(test, layer, seed: UInt64(index) + 700) { x, g in
                referenceConvolutionBackward(
                    transposed: true, input: x.scalars, batch: test.batch, height: test.height, width: test.width, channels: test.channels,
                    kernel: layer.kernel.scalars, kernelSize: test.kernel, filters: test.filters, strides: test.strides,
                    dilation: test.dilation, padding: test.padding, outputGradient: g.scalars)
            }
            XCTAssertTrue(ran, "\(test)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 100)
    }

    func testMaxPool2DBackwardEqualsTheScalarTwin() throws {
        var checked = 0
        for (index, test) in ConvolutionCase.sweep.enumerated() where test.dilation == (1, 1) {
            for strides in [nil, test.strides] {
                let pool = try MaxPool2D(poolSize: test.kernel, strides: strides, padding: test.padding)
                let x = try randomTensor(test.inputShape, seed: UInt64(index) + 900)
                guard let (y, cache) = try? pool.trainingForward(x) else { continue }
                let g = try randomTensor(y.dimensions, seed: UInt64(index) + 1000)
                let dx = try pool.backward(outputGradient: g, cache: cache)
                let expected = referenceMaxPoolBackward(
                    input: x.scalars, batch: test.batch, height: test.height, width: test.width, channels: test.channels,
                    poolSize: test.kernel, strides: strides ?? test.kernel, padding: test.padding, outputGradient: g.scalars)
                requireClose(compare("\(test) dInput", actual: dx.scalars, expected: expected, atol: 1e-6, rtol: 1e-6))
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 40)
    }
}

import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// PyTorch weight layouts in and out of the convolution layers.
final class ConvolutionInteropTests: XCTestCase {
    func testConv2DPyTorchWeightRoundTrip() throws {
        let conv = try Conv2D(inputChannels: 3, filters: 5, kernelSize: (2, 4), strides: (2, 1), padding: .same,
                              activation: .tanh, seed: 7)
        let weight = try conv.pytorchWeight()
        XCTAssertEqual(weight.dimensions, [5, 3, 2, 4])                            // (F, C, KH, KW)
        for (f, c, ky, kx) in [(0, 0, 0, 0), (4, 2, 1, 3), (2, 1, 0, 3), (3, 0, 1, 1)] {
            XCTAssertEqual(try weight.scalar(at: [f, c, ky, kx]), try conv.kernel.scalar(at: [ky, kx, c, f]))
        }
        let back = try Conv2D(pytorchWeight: weight, bias: conv.bias, strides: (2, 1), padding: .same, activation: .tanh)
        XCTAssertEqual(back.kernel, conv.kernel)
        XCTAssertEqual(back.kernel.dimensions, [2, 4, 3, 5])
        XCTAssertEqual(try back.pytorchWeight(), weight)
        let x = try randomTensor([2, 5, 6, 3], seed: 1)
        XCTAssertEqual(try back.forward(x), try conv.forward(x))
    }

    func testConv2DTransposePyTorchWeightRoundTrip() throws {
        let up = try Conv2DTranspose(inputChannels: 3, filters: 5, kernelSize: (3, 2), strides: (2, 2), seed: 8)
        let weight = try up.pytorchWeight()
        XCTAssertEqual(weight.dimensions, [3, 5, 3, 2])                            // (C_in, F_out, KH, KW)
        for (c, f, ky, kx) in [(0, 0, 0, 0), (2, 4, 2, 1), (1, 3, 0, 1), (0, 2, 1, 0)] {
            XCTAssertEqual(try weight.scalar(at: [c, f, ky, kx]), try up.kernel.scalar(at: [ky, kx, f, c]))
        }
        let back = try Conv2DTranspose(pytorchWeight: weight, bias: up.bias, strides: (2, 2))
        XCTAssertEqual(back.kernel, up.kernel)
        XCTAssertEqual(try back.pytorchWeight(), weight)
        let x = try randomTensor([1, 3, 4, 3], seed: 2)
        XCTAssertEqual(try back.forward(x), try up.forward(x))
    }

    /// PyTorch's ConvTranspose2d weight (C, F, KH, KW) is the Conv2d weight
    /// (out C, in F) of the convolution it transposes: importing one tensor both
    /// ways gives layers that satisfy the adjoint identity.
    func testTransposedWeightIsTheAdjointConvolutionWeight() throws {
        let weight = try randomTensor([3, 5, 3, 3], seed: 3)
        let conv = try Conv2D(pytorchWeight: weight, bias: nil, strides: (2, 2), padding: .same)         // 5 -> 3
        let up = try Conv2DTranspose(pytorchWeight: weight, bias: nil, strides: (2, 2), padding: .same)  // 3 -> 5
        let image = try randomTensor([1, 8, 6, 5], seed: 4)
        let grid = try randomTensor([1, 4, 3, 3], seed: 5)
        XCTAssertEqual(dot(try conv.forward(image), grid), dot(image, try up.forward(grid)), accuracy: 1e-4)
    }
}

import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Every caller mistake is a typed error naming what was expected and what
/// came; and the doc comment examples, run as written.
final class ConvolutionErrorTests: XCTestCase {
    func assertThrows<T>(_ expression: @autoclosure () throws -> T, _ expected: RecurrentError,
                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            XCTAssertEqual(error as? RecurrentError, expected, "\(error)", file: file, line: line)
        }
    }

    func testConstructionErrors() throws {
        assertThrows(try Conv2D(inputChannels: 0, filters: 1, kernelSize: (3, 3)),
                     .invalidArgument(name: "Conv2D inputChannels", expected: "a positive integer", actual: "0"))
        assertThrows(try Conv2D(inputChannels: 1, filters: 1, kernelSize: (3, 0)),
                     .invalidArgument(name: "Conv2D kernelSize", expected: "a height and width of at least 1", actual: "(3, 0)"))
        assertThrows(try Conv2D(inputChannels: 1, filters: 1, kernelSize: (3, 3), strides: (0, 1)),
                     .invalidArgument(name: "Conv2D strides", expected: "a height and width of at least 1", actual: "(0, 1)"))
        assertThrows(try Conv2DTranspose(inputChannels: 1, filters: 1, kernelSize: (3, 3), dilation: (1, -1)),
                     .invalidArgument(name: "Conv2DTranspose dilation", expected: "a height and width of at least 1",
                                      actual: "(1, -1)"))
        assertThrows(try Conv2D(inputChannels: 1, filters: 1, kernelSize: (3, 3), dilation: (Int.max, 1)),
                     .invalidArgument(name: "Conv2D dilation", expected: "a dilated kernel extent that fits in Int",
                                      actual: "kernel 3 with dilation \(Int.max)"))
        assertThrows(try MaxPool2D(poolSize: (2, 2), strides: (0, 0)),
                     .invalidArgument(name: "MaxPool2D strides", expected: "a height and width of at least 1", actual: "(0, 0)"))
        assertThrows(try Conv2D(kernel: try Tensor(shape: [3, 3, 2]), bias: nil),
                     .shapeMismatch(name: "Conv2D kernel (height, width, inputChannels, filters)",
                                    expected: [.any("height"), .any("width"), .any("inputChannels"), .any("filters")], actual: [3, 3, 2]))
        assertThrows(try Conv2D(kernel: try Tensor(shape: [3, 3, 2, 4]), bias: try Tensor(shape: [2])),
                     .shapeMismatch(name: "Conv2D bias", expected: [4], actual: [2]))
        assertThrows(try Conv2DTranspose(kernel: try Tensor(shape: [3, 3, 4, 2]), bias: try Tensor(shape: [2])),
                     .shapeMismatch(name: "Conv2DTranspose bias", expected: [4], actual: [2]))
        assertThrows(try Conv2D(pytorchWeight: try Tensor(shape: [4, 2, 3]), bias: nil),
                     .shapeMismatch(name: "PyTorch Conv2d weight (filters, inputChannels, height, width)",
                                    expected: [.any("any"), .any("any"), .any("any"), .any("any")], actual: [4, 2, 3]))
    }

    func testInputErrors() throws {
        let conv = try Conv2D(inputChannels: 3, filters: 2, kernelSize: (3, 5), dilation: (2, 1))
        assertThrows(try conv.forward(try Tensor(shape: [2, 9, 9])),
                     .shapeMismatch(name: "Conv2D input (batch, height, width, channels)",
                         expected: [.any("batch"), .any("height"), .any("width"), 3],
                                    actual: [2, 9, 9]))
        assertThrows(try conv.forward(try Tensor(shape: [2, 9, 9, 4])),
                     .shapeMismatch(name: "Conv2D input (batch, height, width, channels)",
                         expected: [.any("batch"), .any("height"), .any("width"), 3],
                                    actual: [2, 9, 9, 4]))
        assertThrows(try conv.forward(try Tensor(shape: [2, 0, 9, 3])),
                     .invalidArgument(name: "Conv2D input", expected: "a height, width and channel count of at least 1",
                                      actual: "shape [2, 0, 9, 3]"))
        // A dilated 3-row kernel spans 5 rows: 4 rows are too few for padding valid.
        XCTAssertNoThrow(try conv.forward(try Tensor(shape: [1, 5, 5, 3])))
        XCTAssertThrowsError(try conv.forward(try Tensor(shape: [1, 4, 9, 3]))) { error in
            let text = "\(error)"
            XCTAssert(text.contains("4 x 9") && text.contains("5 x 5") && text.contains("padding same"), text)
        }
        XCTAssertNoThrow(try Conv2D(inputChannels: 3, filters: 2, kernelSize: (3, 5), dilation: (2, 1), padding: .same)
            .forward(try Tensor(shape: [1, 4, 1, 3])))
        XCTAssertThrowsError(try MaxPool2D(poolSize: (3, 3)).forward(try Tensor(shape: [1, 2, 5, 1])))
        XCTAssertThrowsError(try MaxPool2D(poolSize: (3, 3)).forward(try Tensor(shape: [5, 1])))
        let up = try Conv2DTranspose(inputChannels: 2, filters: 1, kernelSize: (2, 2))
        assertThrows(try up.forward(try Tensor(shape: [1, 3, 3, 1])),
                     .shapeMismatch(name: "Conv2DTranspose input (batch, height, width, channels)",
                                    expected: [.any("batch"), .any("height"), .any("width"), 2], actual: [1, 3, 3, 1]))
        XCTAssertThrowsError(try Flatten().forward(try Tensor(shape: [])))
    }

    /// A kernel replaced by one of another shape is an error, not a trap.
    func testReplacedParametersOfTheWrongShape() throws {
        var conv = try Conv2D(inputChannels: 3, filters: 2, kernelSize: (3, 3))
        conv.kernel = try Tensor(shape: [3, 3, 3])
        assertThrows(try conv.forward(try Tensor(shape: [1, 5, 5, 3])),
                     .shapeMismatch(name: "Conv2D kernel", expected: [3, 3, 3, 2], actual: [3, 3, 3]))
        XCTAssertThrowsError(try conv.pytorchWeight())
        var up = try Conv2DTranspose(inputChannels: 3, filters: 2, kernelSize: (3, 3))
        up.bias = try Tensor(shape: [3])
        assertThrows(try up.forward(try Tensor(shape: [1, 5, 5, 3])),
                     .shapeMismatch(name: "Conv2DTranspose bias", expected: [2], actual: [3]))
    }

    func testBackwardErrors() throws {
        let conv = try Conv2D(inputChannels: 2, filters: 3, kernelSize: (3, 3), padding: .same)
        let x = try randomTensor([2, 5, 5, 2], seed: 1)
        let (y, cache) = try conv.trainingForward(x)
        var gradients = conv.zeroGradients()
        assertThrows(try conv.backward(outputGradient: try Tensor(shape: [2, 5, 5, 2]), cache: cache, into: &gradients),
                     .shapeMismatch(name: "Conv2D output gradient", expected: ShapeRequirement(exactly: y.dimensions), actual: [2, 5, 5, 2]))
        var withoutBias = try Conv2D(inputChannels: 2, filters: 3, kernelSize: (3, 3), padding: .same, useBias: false)
            .zeroGradients()
        assertThrows(try conv.backward(outputGradient: y, cache: cache, into: &withoutBias),
                     .shapeMismatch(name: "Conv2D bias gradient", expected: [3], actual: []))
        let strided = try Conv2D(inputChannels: 2, filters: 3, kernelSize: (3, 3), strides: (2, 2), padding: .same)
        XCTAssertThrowsError(try strided.backward(outputGradient: y, cache: cache, into: &gradients)) { error in
            guard case .cacheMismatch = error as? RecurrentError else { return XCTFail("\(error)") }
        }
        let pool = try MaxPool2D(poolSize: (2, 2))
        let (_, poolCache) = try pool.trainingForward(x)
        XCTAssertThrowsError(try MaxPool2D(poolSize: (3, 3)).backward(outputGradient: try Tensor(shape: [2, 1, 1, 2]),
                                                                       cache: poolCache))
        XCTAssertThrowsError(try pool.backward(outputGradient: x, cache: poolCache))
        let up = try Conv2DTranspose(inputChannels: 2, filters: 3, kernelSize: (2, 2))
        let (_, upCache) = try up.trainingForward(x)
        var upGradients = up.zeroGradients()
        XCTAssertThrowsError(try up.backward(outputGradient: x, cache: upCache, into: &upGradients))
    }

    /// An empty batch gives empty outputs and gradients.
    func testEmptyBatch() throws {
        let x = try Tensor(shape: [0, 6, 6, 2])
        let conv = try Conv2D(inputChannels: 2, filters: 3, kernelSize: (3, 3))
        let (y, cache) = try conv.trainingForward(x)
        XCTAssertEqual(y.dimensions, [0, 4, 4, 3])
        var gradients = conv.zeroGradients()
        XCTAssertEqual(try conv.backward(outputGradient: y, cache: cache, into: &gradients).dimensions, x.dimensions)
        XCTAssertEqual(try Conv2DTranspose(inputChannels: 2, filters: 1, kernelSize: (2, 2)).forward(x).dimensions,
                       [0, 7, 7, 1])
        XCTAssertEqual(try MaxPool2D(poolSize: (2, 2)).forward(x).dimensions, [0, 3, 3, 2])
    }

    /// The examples of the doc comments of Conv2D, Conv2DTranspose and MaxPool2D.
    func testDocumentationExamples() throws {
        let frames = try randomTensor([2, 8, 8, 1], seed: 1)
        let conv = try Conv2D(inputChannels: 1, filters: 32, kernelSize: (3, 3), padding: .same,
                              activation: .relu, seed: 1)
        let (features, cache) = try conv.trainingForward(frames)       // (B, H, W, 32)
        XCTAssertEqual(features.dimensions, [2, 8, 8, 32])
        let dFeatures = try randomTensor(features.dimensions, seed: 2)
        var gradients = conv.zeroGradients()
        let dFrames = try conv.backward(outputGradient: dFeatures, cache: cache, into: &gradients)
        XCTAssertEqual(dFrames.dimensions, frames.dimensions)

        let up = try Conv2DTranspose(inputChannels: 32, filters: 1, kernelSize: (3, 3), strides: (2, 2),
                                     padding: .same, activation: .sigmoid, seed: 2)
        XCTAssertEqual(try up.forward(features).dimensions, [2, 16, 16, 1])   // (B, 2 H, 2 W, 1)

        let pool = try MaxPool2D(poolSize: (2, 2))
        let (pooled, poolCache) = try pool.trainingForward(features)          // (B, H / 2, W / 2, C)
        XCTAssertEqual(pooled.dimensions, [2, 4, 4, 32])
        let dPooled = try randomTensor(pooled.dimensions, seed: 3)
        let dPoolInput = try pool.backward(outputGradient: dPooled, cache: poolCache)
        XCTAssertEqual(dPoolInput.dimensions, features.dimensions)
    }
}

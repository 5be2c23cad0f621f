import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Every caller mistake with a ConvLSTM2D, its stream, its Keras interop and
/// the forecaster is a typed error naming what was expected and what came.
final class ConvLSTMErrorTests: XCTestCase {
    func assertThrows<T>(_ expression: @autoclosure () throws -> T, _ expected: RecurrentError,
                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            XCTAssertEqual(error as? RecurrentError, expected, "\(error)", file: file, line: line)
            XCTAssert("\(error)".hasSuffix("."), "\(error)", file: file, line: line)   // a full sentence
        }
    }

    func testConstructionErrors() throws {
        assertThrows(try ConvLSTM2D(inputChannels: 0, filters: 2, kernelSize: (3, 3)),
                     .invalidArgument(name: "ConvLSTM2D inputChannels", expected: "a positive integer", actual: "0"))
        assertThrows(try ConvLSTM2D(inputChannels: 1, filters: 2, kernelSize: (3, 3), strides: (1, 0)),
                     .invalidArgument(name: "ConvLSTM2D strides", expected: "a height and width of at least 1", actual: "(1, 0)"))
        assertThrows(try ConvLSTM2D(inputChannels: 1, filters: 2, kernelSize: (5, 5), peepholeFrame: (3, 8)),
                     .invalidArgument(name: "ConvLSTM2D window for padding valid",
                                      expected: "a dilated window no larger than the 3 x 8 input",
                                      actual: "5 x 5 (kernel 5 x 5, dilation 1 x 1); use padding same or a smaller kernel"))
        let kernel = try Tensor(shape: [3, 3, 2, 8])
        assertThrows(try ConvLSTM2D(kernel: try Tensor(shape: [3, 3, 2, 6]), recurrentKernel: kernel, bias: try Tensor(shape: [8])),
                     .shapeMismatch(name: "ConvLSTM2D kernel (height, width, inputChannels, 4 * filters)",
                                    expected: [.any("height"), .any("width"), .any("inputChannels"), .multiple(of: 4, "4 * filters")],
                                    actual: [3, 3, 2, 6]))
        assertThrows(try ConvLSTM2D(kernel: kernel, recurrentKernel: try Tensor(shape: [3, 3, 8, 8]), bias: try Tensor(shape: [8])),
                     .shapeMismatch(name: "ConvLSTM2D recurrent kernel", expected: [3, 3, 2, 8], actual: [3, 3, 8, 8]))
        assertThrows(try ConvLSTM2D(kernel: kernel, recurrentKernel: kernel, bias: try Tensor(shape: [4])),
                     .shapeMismatch(name: "ConvLSTM2D bias", expected: [8], actual: [4]))
        let peepholes = ConvLSTMPeepholes(input: try Tensor(shape: [4, 4, 2]), forget: try Tensor(shape: [4, 4, 2]),
                                          output: try Tensor(shape: [4, 3, 2]))
        assertThrows(try ConvLSTM2D(kernel: kernel, recurrentKernel: kernel, bias: try Tensor(shape: [8]), peepholes: peepholes),
                     .shapeMismatch(name: "ConvLSTM2D output-gate peephole", expected: [4, 4, 2], actual: [4, 3, 2]))
    }

    func testInputErrors() throws {
        let layer = try smallConvLSTM(channels: 2, filters: 2, kernel: (3, 3), peepholeGrid: (4, 4), seed: 80)
        let name = "ConvLSTM2D input (batch, timesteps, height, width, channels)"
        assertThrows(try layer.forward(try Tensor(shape: [2, 3, 4, 4])),
                     .shapeMismatch(name: name, expected: [.any("batch"), .any("timesteps"), .any("height"), .any("width"), 2], actual: [2, 3, 4, 4]))
        assertThrows(try layer.forward(try Tensor(shape: [2, 3, 4, 4, 3])),
                     .shapeMismatch(name: name,
                         expected: [.any("batch"), .any("timesteps"), .any("height"), .any("width"), 2], actual: [2, 3, 4, 4, 3]))
        assertThrows(try layer.forward(try Tensor(shape: [2, 0, 4, 4, 2])),
                     .invalidArgument(name: "ConvLSTM2D timesteps", expected: "a positive integer", actual: "0"))
        // Peepholes are (4, 4, F): frames of another size give another state grid.
        assertThrows(try layer.forward(try Tensor(shape: [1, 2, 5, 4, 2])),
                     .shapeMismatch(name: "ConvLSTM2D input-gate peephole (state height, width, filters)",
                                    expected: [5, 4, 2], actual: [4, 4, 2]))
        let x = try Tensor(shape: [2, 3, 4, 4, 2])
        assertThrows(try layer.forward(x, lengths: [3]),
                     .invalidArgument(name: "ConvLSTM2D lengths", expected: "2 values in 0...3", actual: "[3]"))
        assertThrows(try layer.forward(x, lengths: [4, 1]),
                     .invalidArgument(name: "ConvLSTM2D lengths", expected: "2 values in 0...3", actual: "[4, 1]"))
        assertThrows(try layer.forward(x, lengths: [-1, 1]),
                     .invalidArgument(name: "ConvLSTM2D lengths", expected: "2 values in 0...3", actual: "[-1, 1]"))
        let wrongState = try ConvLSTMState.zeros(batch: 2, height: 4, width: 3, filters: 2)
        assertThrows(try layer.forward(x, initialState: wrongState),
                     .shapeMismatch(name: "ConvLSTM2D initial hidden state", expected: [2, 4, 4, 2], actual: [2, 4, 3, 2]))
    }

    func testBackwardErrors() throws {
        let layer = try smallConvLSTM(channels: 2, filters: 2, kernel: (3, 3), seed: 81)
        let x = try randomTensor([2, 3, 4, 4, 2], seed: 82)
        let (result, cache) = try layer.trainingForward(x)
        var gradients = layer.zeroGradients()
        assertThrows(try layer.backward(outputGradient: try Tensor(shape: [2, 4, 4, 2]), cache: cache, into: &gradients),
                     .shapeMismatch(name: "ConvLSTM2D output gradient", expected: [2, 3, 4, 4, 2], actual: [2, 4, 4, 2]))
        let badState = ConvLSTMState(hidden: try Tensor(shape: [2, 4, 4, 2]), cell: try Tensor(shape: [1, 4, 4, 2]))
        assertThrows(try layer.backward(outputGradient: result.output, finalStateGradient: badState, cache: cache, into: &gradients),
                     .shapeMismatch(name: "ConvLSTM2D final cell state gradient", expected: [2, 4, 4, 2], actual: [1, 4, 4, 2]))
        let other = try smallConvLSTM(channels: 2, filters: 2, kernel: (3, 3), reversed: true, seed: 81)
        let reason = "it was recorded by a ConvLSTM2D of another kernel, stride, dilation, padding, direction or peepholes"
        assertThrows(try other.backward(outputGradient: result.output, cache: cache, into: &gradients),
                     .cacheMismatch(reason: reason))
        let withPeepholes = try smallConvLSTM(channels: 2, filters: 2, kernel: (3, 3), peepholeGrid: (4, 4), seed: 81)
        var peepholeGradients = withPeepholes.zeroGradients()
        assertThrows(try withPeepholes.backward(outputGradient: result.output, cache: cache, into: &peepholeGradients),
                     .cacheMismatch(reason: reason))
        var wrongGradients = try smallConvLSTM(channels: 2, filters: 3, kernel: (3, 3), seed: 1).zeroGradients()
        assertThrows(try layer.backward(outputGradient: result.output, cache: cache, into: &wrongGradients),
                     .shapeMismatch(name: "ConvLSTM2D kernel gradient", expected: [3, 3, 2, 8], actual: [3, 3, 2, 12]))
    }

    func testStreamInteropAndForecasterErrors() throws {
        let reversed = try smallConvLSTM(channels: 1, filters: 2, kernel: (3, 3), reversed: true, seed: 83)
        assertThrows(try ConvLSTMStream(reversed, batch: 1, frameSize: (4, 4)),
                     .invalidArgument(name: "ConvLSTM2D to stream", expected: "a layer running forward in time",
                                      actual: "a reversed (go_backwards) layer"))
        let layer = try smallConvLSTM(channels: 1, filters: 2, kernel: (3, 3), peepholeGrid: (4, 4), seed: 84)
        var stream = try ConvLSTMStream(layer, batch: 2, frameSize: (4, 4))
        assertThrows(try stream.step(try Tensor(shape: [1, 4, 4, 1])),
                     .shapeMismatch(name: "ConvLSTMStream frame (batch, height, width, channels)",
                                    expected: [2, 4, 4, 1], actual: [1, 4, 4, 1]))
        assertThrows(try layer.kerasWeights(),
                     .invalidArgument(name: "ConvLSTM2D for Keras export", expected: "a layer without peepholes",
                                      actual: "peephole weights, which keras.layers.ConvLSTM2D has no place for"))
        let file = try SafeTensors([.init(name: "kernel", array: NumericArray(layer.kernel))])
        XCTAssertThrowsError(try ConvLSTM2D(keras: file)) { error in
            guard case .missingParameter(let name, _)? = error as? RecurrentError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "recurrent_kernel")
        }
        let a = try smallConvLSTM(channels: 1, filters: 2, kernel: (3, 3), padding: .same, seed: 85)
        let b = try smallConvLSTM(channels: 1, filters: 3, kernel: (3, 3), padding: .same, seed: 86)
        let head = try Conv2D(inputChannels: 2, filters: 1, kernelSize: (1, 1))
        assertThrows(try ConvLSTMForecaster(encoder: [a], forecaster: [b], head: head, horizon: 2),
                     .shapeMismatch(name: "ConvLSTMForecaster layer 0 filters (forward layers)", expected: [2], actual: [3]))
        assertThrows(try ConvLSTMForecaster(encoder: [a], forecaster: [a], head: head, horizon: 0),
                     .invalidArgument(name: "ConvLSTMForecaster horizon", expected: "a positive integer", actual: "0"))
        assertThrows(try ConvLSTMForecaster(encoder: [a], forecaster: [a],
                                            head: try Conv2D(inputChannels: 3, filters: 1, kernelSize: (1, 1)), horizon: 1),
                     .shapeMismatch(name: "ConvLSTMForecaster head input channels", expected: [2], actual: [3]))
    }
}

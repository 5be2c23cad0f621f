import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// One convolution configuration of the reference sweeps.
struct ConvolutionCase: CustomStringConvertible {
    var batch = 2, height = 7, width = 9, channels = 3, filters = 5
    var kernel = (height: 3, width: 3)
    var strides = (height: 1, width: 1)
    var dilation = (height: 1, width: 1)
    var padding = ConvolutionPadding.valid

    var inputShape: [Int] { [batch, height, width, channels] }
    var description: String {
        "B\(batch) \(height)x\(width)x\(channels) -> F\(filters), kernel \(kernel.height)x\(kernel.width), "
            + "strides \(strides.height)x\(strides.width), dilation \(dilation.height)x\(dilation.width), \(padding)"
    }

    /// Every combination of padding, strides 1 to 3, dilation 1 and 2 and
    /// non-square kernels, over odd sizes and channel counts that are not
    /// multiples of 8 (cycled so each appears with several of the others).
    static var sweep: [ConvolutionCase] {
        let kernels = [(1, 1), (3, 3), (2, 5), (4, 3)]
        let strides = [(1, 1), (2, 2), (3, 1), (2, 3), (3, 3)]
        let dilations = [(1, 1), (2, 1), (2, 2)]
        let sizes = [(7, 9), (11, 6), (5, 13), (1, 1), (9, 9)]
        let channels = [1, 3, 10, 17]
        let filters = [1, 5, 9, 33]
        var cases: [ConvolutionCase] = []
        var i = 0
        for padding in ConvolutionPadding.allCases { for kernel in kernels { for stride in strides { for dilation in dilations {
            let size = sizes[i % sizes.count]
            cases.append(ConvolutionCase(
                batch: 1 + i % 3, height: size.0, width: size.1, channels: channels[i % channels.count],
                filters: filters[(i / 2) % filters.count], kernel: kernel, strides: stride, dilation: dilation,
                padding: padding))
            i += 1
        } } } }
        return cases
    }
}

final class ConvolutionTests: XCTestCase {
    func testConv2DEqualsTheDirectLoopReference() throws {
        var checked = 0, rejected = 0, worst: Float = 0
        for (index, test) in ConvolutionCase.sweep.enumerated() {
            for activation in [Activation.linear, .relu] {
                let conv = try Conv2D(inputChannels: test.channels, filters: test.filters, kernelSize: test.kernel,
                                      strides: test.strides, dilation: test.dilation, padding: test.padding,
                                      useBias: index % 2 == 0, activation: activation, seed: UInt64(index))
                var layer = conv
                layer.bias = try conv.bias.map { _ in try randomTensor([test.filters], seed: UInt64(index) + 7) }
                let x = try randomTensor(test.inputShape, seed: UInt64(index) + 100)
                let expected = referenceConv2D(
                    input: x.scalars, batch: test.batch, height: test.height, width: test.width,
                    channels: test.channels, kernel: layer.kernel.scalars, kernelSize: test.kernel,
                    filters: test.filters, bias: layer.bias?.scalars, strides: test.strides, dilation: test.dilation,
                    padding: test.padding)
                guard expected.height > 0, expected.width > 0 else {
                    XCTAssertThrowsError(try layer.forward(x), "\(test)")
                    rejected += 1
                    continue
                }
                let y = try layer.forward(x)
                XCTAssertEqual(y.dimensions, [test.batch, expected.height, expected.width, test.filters], "\(test)")
                let reference = activation == .relu ? expected.output.map { max($0, 0) } : expected.output
                let result = compare("\(test) \(activation)", actual: y.scalars, expected: reference,
                                     atol: Tolerance.forward.atol, rtol: Tolerance.forward.rtol)
                XCTAssert(result.passed, "\(result)")
                worst = max(worst, result.worstError)
                checked += 1
            }
        }
        print("Conv2D forward: \(checked) cases equal the reference (worst \(worst)), \(rejected) rejected as too small")
        XCTAssertGreaterThan(checked, 200)
        XCTAssertGreaterThan(rejected, 0)
    }

    func testConv2DTransposeEqualsTheDirectLoopReference() throws {
        var checked = 0, worst: Float = 0
        for (index, test) in ConvolutionCase.sweep.enumerated() {
            let layer = try Conv2DTranspose(
                kernel: try randomTensor([test.kernel.height, test.kernel.width, test.filters, test.channels],
                                         seed: UInt64(index)),
                bias: index % 2 == 0 ? try randomTensor([test.filters], seed: UInt64(index) + 1) : nil,
                strides: test.strides, dilation: test.dilation, padding: test.padding)
            let x = try randomTensor(test.inputShape, seed: UInt64(index) + 200)
            let expected = referenceConv2DTranspose(
                input: x.scalars, batch: test.batch, height: test.height, width: test.width, channels: test.channels,
                kernel: layer.kernel.scalars, kernelSize: test.kernel, filters: test.filters,
                bias: layer.bias?.scalars, strides: test.strides, dilation: test.dilation, padding: test.padding)
            let y = try layer.forward(x)
            XCTAssertEqual(y.dimensions, [test.batch, expected.height, expected.width, test.filters], "\(test)")
            let result = compare("\(test)", actual: y.scalars, expected: expected.output,
                                 atol: Tolerance.forward.atol, rtol: Tolerance.forward.rtol)
            XCTAssert(result.passed, "\(result)")
            worst = max(worst, result.worstError)
            checked += 1
        }
        print("Conv2DTranspose forward: \(checked) cases equal the reference (worst \(worst))")
    }

    func testMaxPool2DEqualsTheDirectLoopReference() throws {
        var checked = 0
        for (index, test) in ConvolutionCase.sweep.enumerated() where test.dilation == (1, 1) {
            for strides in [nil, test.strides] {
                let pool = try MaxPool2D(poolSize: test.kernel, strides: strides, padding: test.padding)
                let x = try randomTensor(test.inputShape, seed: UInt64(index) + 300)
                let s = strides ?? test.kernel
                let expected = referenceMaxPool(input: x.scalars, batch: test.batch, height: test.height,
                                                width: test.width, channels: test.channels, poolSize: test.kernel,
                                                strides: s, padding: test.padding)
                let output = try? pool.forward(x)
                XCTAssertEqual(output == nil, expected.isEmpty, "\(test)")
                guard let output else { continue }
                XCTAssertEqual(output.scalars, expected, "\(test)")   // a maximum is exact
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 40)
    }

    /// Batches of more than 16 images (several slabs, some of two images), with a
    /// patch long enough that chunks of 256 rows cross image boundaries.
    /// Stride 1, dilation 1 and kernel rows of at least 16 values take the
    /// im2col-free pass (Kernels/Convolution/ConvolutionDirect.swift): every padding and
    /// kernel shape on odd sizes, against the reference.
    func testIm2colFreeConvolutionEqualsTheReference() throws {
        for (index, (kernel, padding, channels)) in [((3, 3), ConvolutionPadding.same, 8), ((3, 2), .valid, 8),
                                                     ((2, 5), .same, 16), ((1, 4), .valid, 5), ((4, 3), .same, 6)].enumerated() {
            let (height, width, filters) = (7 + index, 9 - index, 33)
            let conv = try Conv2D(kernel: try randomTensor([kernel.0, kernel.1, channels, filters], seed: UInt64(index)),
                                  bias: try randomTensor([filters], seed: 9), padding: padding, activation: .relu)
            let x = try randomTensor([3, height, width, channels], seed: UInt64(index) + 20)
            let expected = referenceConv2D(input: x.scalars, batch: 3, height: height, width: width, channels: channels,
                                           kernel: conv.kernel.scalars, kernelSize: kernel, filters: filters,
                                           bias: conv.bias!.scalars, strides: (1, 1), dilation: (1, 1), padding: padding)
            let result = compare("\(kernel) \(padding) C \(channels)", actual: try conv.forward(x).scalars,
                                 expected: expected.output.map { max($0, 0) },
                                 atol: Tolerance.forward.atol, rtol: Tolerance.forward.rtol)
            XCTAssert(result.passed, "\(result)")
            let pooled = try Sequential([.conv2D(conv), .maxPool2D(try MaxPool2D(poolSize: (2, 2), padding: .same))]).forward(x)
            let separate = try MaxPool2D(poolSize: (2, 2), padding: .same).forward(try conv.forward(x))
            XCTAssertEqual(pooled, separate, "fused \(kernel) \(padding)")
        }
    }

    /// Inference through a fused Conv2D + MaxPool2D pools the raw sums and
    /// activates only the maxima: bit for bit the two layers one after the
    /// other, for every activation, pool shape and padding, with a NaN in the input.
    func testFusedInferencePoolsBeforeTheActivation() throws {
        for (index, activation) in Activation.allCases.enumerated() {
            for (pool, strides, padding) in [((2, 2), (2, 2), ConvolutionPadding.valid), ((3, 2), (2, 1), .same),
                                              ((2, 3), (1, 3), .valid)] {
                let conv = try Conv2D(kernel: try randomTensor([3, 3, 6, 20], seed: UInt64(index)),
                                      bias: try randomTensor([20], seed: 3), padding: .same, activation: activation)
                var x = try randomTensor([2, 9, 11, 6], seed: UInt64(index) + 7)
                if index == 1 {
                    var scalars = x.scalars
                    scalars[5 * 11 * 6 + 3] = .nan
                    x = try Tensor(shape: x.shape, scalars: scalars)
                }
                let maxPool = try MaxPool2D(poolSize: pool, strides: strides, padding: padding)
                let fused = try Sequential([.conv2D(conv), .maxPool2D(maxPool)]).forward(x)
                let separate = try maxPool.forward(try conv.forward(x))
                XCTAssertEqual(fused.scalars.map(\.bitPattern), separate.scalars.map(\.bitPattern),
                               "\(activation) pool \(pool) strides \(strides) \(padding)")
                if index == 1 { XCTAssert(fused.scalars.contains { $0.isNaN }, "the NaN reaches the pooled output") }
            }
        }
    }

    func testSlabsAndChunksThatCrossImages() throws {
        let test = ConvolutionCase(batch: 20, height: 17, width: 17, channels: 64, filters: 3, kernel: (3, 3),
                                   padding: .same)
        let x = try randomTensor(test.inputShape, seed: 1)
        let conv = try Conv2D(kernel: try randomTensor([3, 3, 64, 3], seed: 2), bias: nil, padding: .same)
        let expected = referenceConv2D(input: x.scalars, batch: 20, height: 17, width: 17, channels: 64,
                                       kernel: conv.kernel.scalars, kernelSize: (3, 3), filters: 3, bias: nil,
                                       strides: (1, 1), dilation: (1, 1), padding: .same)
        let result = compare("forward", actual: try conv.forward(x).scalars, expected: expected.output,
                             atol: Tolerance.forward.atol, rtol: Tolerance.forward.rtol)
        XCTAssert(result.passed, "\(result)")

        // Backward per image equals backward of the batch: slabs are independent.
        let (y, cache) = try conv.trainingForward(x)
        let g = try randomTensor(y.dimensions, seed: 3)
        var gradients = conv.zeroGradients()
        let dx = try conv.backward(outputGradient: g, cache: cache, into: &gradients)
        var summed = conv.zeroGradients()
        for b in 0 ..< 20 {
            let (_, one) = try conv.trainingForward(try x.slice(b ..< b + 1))
            let dxOne = try conv.backward(outputGradient: try g.slice(b ..< b + 1), cache: one, into: &summed)
            XCTAssertEqual(dxOne.scalars, try dx.slice(b ..< b + 1).scalars)
        }
        let kernel = compare("kernel gradient", actual: gradients.kernel.scalars, expected: summed.kernel.scalars,
                             atol: 1e-4, rtol: 1e-5)
        XCTAssert(kernel.passed, "\(kernel)")
    }

    // MARK: Padding rules

    /// Hand-worked TensorFlow `same` cases: 6 wide with stride 2 pads one column
    /// after only; 5 wide pads one on each side.
    func testSamePaddingPutsTheOddColumnAfter() throws {
        let ones = try Tensor(shape: [1, 3, 1, 1], repeating: 1)
        let conv = try Conv2D(kernel: ones.reshaped(to: [1, 3, 1, 1]), bias: nil, strides: (1, 2), padding: .same)
        let six = try Tensor(shape: [1, 1, 6, 1], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try conv.forward(six).scalars, [6, 12, 11])            // [1 2 3] [3 4 5] [5 6 pad]
        let five = try Tensor(shape: [1, 1, 5, 1], scalars: [1, 2, 3, 4, 5])
        XCTAssertEqual(try conv.forward(five).scalars, [3, 9, 9])             // [pad 1 2] [2 3 4] [4 5 pad]
        let dilated = try Conv2D(kernel: ones.reshaped(to: [1, 3, 1, 1]), bias: nil, dilation: (1, 2), padding: .same)
        XCTAssertEqual(try dilated.forward(five).scalars, [4, 6, 9, 6, 8])  // taps -2, 0, +2
    }

    func testOutputSizesFollowTensorFlowAndKeras() throws {
        let conv = try Conv2D(inputChannels: 1, filters: 2, kernelSize: (3, 5), strides: (2, 3), dilation: (2, 1))
        // valid: floor((9 - 5) / 2) + 1 = 3; floor((11 - 5) / 3) + 1 = 3
        XCTAssertEqual(try conv.outputDimensions(forInput: [4, 9, 11, 1]), [4, 3, 3, 2])
        let same = try Conv2D(inputChannels: 1, filters: 2, kernelSize: (3, 5), strides: (2, 3), padding: .same)
        XCTAssertEqual(try same.outputDimensions(forInput: [4, 9, 11, 1]), [4, 5, 4, 2])   // ceil(9/2), ceil(11/3)
        let up = try Conv2DTranspose(inputChannels: 2, filters: 1, kernelSize: (3, 2), strides: (2, 3))
        // valid: in * s + max(k - s, 0): 4 * 2 + 1 = 9; 5 * 3 + 0 = 15
        XCTAssertEqual(try up.outputDimensions(forInput: [1, 4, 5, 2]), [1, 9, 15, 1])
        let upSame = try Conv2DTranspose(inputChannels: 2, filters: 1, kernelSize: (3, 2), strides: (2, 3), padding: .same)
        XCTAssertEqual(try upSame.outputDimensions(forInput: [1, 4, 5, 2]), [1, 8, 15, 1])
        let pool = try MaxPool2D(poolSize: (2, 2), padding: .same)
        XCTAssertEqual(try pool.outputDimensions(forInput: [1, 5, 4, 3]), [1, 3, 2, 3])
    }

    /// Padding never wins a pooling window, even over negative values.
    func testSamePoolingIgnoresPadding() throws {
        let x = try Tensor(shape: [1, 3, 3, 1], scalars: (1 ... 9).map { -Float($0) })
        let pool = try MaxPool2D(poolSize: (2, 2), padding: .same)
        XCTAssertEqual(try pool.forward(x).scalars, [-1, -3, -7, -9])
    }

    /// Ties go to the first maximum in row-major window order; a NaN wins its
    /// window and takes the gradient. Ten channels: eight in the vector path,
    /// two in the scalar tail, which must agree.
    func testMaxPool2DTiesAndNaN() throws {
        var values = [Float](repeating: 1, count: 2 * 2 * 10)          // (1, 2, 2, 10): all tied
        for c in [3, 9] { values[(1 * 2 + 0) * 10 + c] = .nan }          // pixel (1, 0)
        let x = try Tensor(shape: [1, 2, 2, 10], scalars: values)
        let pool = try MaxPool2D(poolSize: (2, 2))
        let (y, cache) = try pool.trainingForward(x)
        let dx = try pool.backward(outputGradient: try Tensor(shape: [1, 1, 1, 10], repeating: 1), cache: cache)
        for c in 0 ..< 10 {
            let nan = c == 3 || c == 9
            XCTAssertEqual(y.scalars[c].isNaN, nan, "channel \(c)")
            let winner = nan ? 2 : 0                                     // pixel (1, 0), else the first
            for pixel in 0 ..< 4 { XCTAssertEqual(dx.scalars[pixel * 10 + c], pixel == winner ? 1 : 0, "channel \(c)") }
        }
        // Inference finds the maxima without the argmax: the same values, NaN
        // included, on 16-lane and leftover channels.
        var wide: [Float] = []
        for i in 0 ..< 3 * 5 * 5 * 21 { wide.append(Float((i * 7919) % 101) / 10) }
        for index in [5, 40, 170, 600, 1000] { wide[index] = Float.nan }
        let image = try Tensor(shape: [3, 5, 5, 21], scalars: wide)
        for pooling in [try MaxPool2D(poolSize: (2, 2)), try MaxPool2D(poolSize: (3, 3), strides: (2, 2), padding: .same)] {
            let inference = try pooling.forward(image).scalars, training = try pooling.trainingForward(image).output.scalars
            XCTAssertEqual(inference.map(\.isNaN), training.map(\.isNaN))
            XCTAssertEqual(inference.filter { !$0.isNaN }, training.filter { !$0.isNaN })
            XCTAssertTrue(inference.contains { $0.isNaN })
        }
    }

    // MARK: Consistency laws

    /// Conv2DTranspose is the input gradient of the Conv2D with the same kernel
    /// read as (KH, KW, F, C) -> a Conv2D from F channels to C filters; and its
    /// input gradient is that Conv2D's forward pass.
    func testConv2DTransposeIsTheInputGradientOfConv2D() throws {
        for (index, test) in ConvolutionCase.sweep.enumerated() where index % 3 == 0 {
            let kernel = try randomTensor([test.kernel.height, test.kernel.width, test.filters, test.channels],
                                          seed: UInt64(index))
            let transposed = try Conv2DTranspose(kernel: kernel, bias: nil, strides: test.strides,
                                                 dilation: test.dilation, padding: test.padding)
            let conv = try Conv2D(kernel: kernel, bias: nil, strides: test.strides, dilation: test.dilation,
                                  padding: test.padding)
            let x = try randomTensor(test.inputShape, seed: UInt64(index) + 1)
            let (y, cache) = try transposed.trainingForward(x)
            XCTAssertEqual(try conv.outputDimensions(forInput: y.dimensions), x.dimensions, "\(test)")

            let (_, convCache) = try conv.trainingForward(try Tensor(shape: y.shape))
            var convGradients = conv.zeroGradients()
            let asGradient = try conv.backward(outputGradient: x, cache: convCache, into: &convGradients)
            let forward = compare("\(test) forward", actual: y.scalars, expected: asGradient.scalars,
                                  atol: 1e-5, rtol: 1e-5)
            XCTAssert(forward.passed, "\(forward)")

            let g = try randomTensor(y.dimensions, seed: UInt64(index) + 2)
            var gradients = transposed.zeroGradients()
            let dx = try transposed.backward(outputGradient: g, cache: cache, into: &gradients)
            let backward = compare("\(test) backward", actual: dx.scalars, expected: try conv.forward(g).scalars,
                                   atol: 1e-5, rtol: 1e-5)
            XCTAssert(backward.passed, "\(backward)")
            // <T(x), g> = <x, T^T(g)>: the adjoint identity in Double.
            XCTAssertEqual(dot(y, g), dot(x, dx), accuracy: 1e-4 * max(1, abs(dot(y, g))), "\(test)")
        }
    }

    func testFlattenIsAReshapeBothWays() throws {
        let x = try randomTensor([2, 3, 4, 5], seed: 1)
        let flatten = Flatten()
        let (y, cache) = try flatten.trainingForward(x)
        XCTAssertEqual(y.dimensions, [2, 60])
        XCTAssertEqual(y.scalars, x.scalars)
        XCTAssertEqual(try flatten.backward(outputGradient: y, cache: cache), x)
        XCTAssertThrowsError(try flatten.backward(outputGradient: x, cache: cache))
    }

    func testKerasInitializationIsSeededGlorotUniform() throws {
        let conv = try Conv2D(inputChannels: 3, filters: 8, kernelSize: (3, 5), seed: 4)
        let limit = (6 / Float(15 * 3 + 15 * 8)).squareRoot()
        XCTAssertEqual(conv.kernel.dimensions, [3, 5, 3, 8])
        XCTAssert(conv.kernel.scalars.allSatisfy { abs($0) <= limit })
        XCTAssertGreaterThan(conv.kernel.scalars.map(abs).max()!, 0.9 * limit)
        XCTAssertEqual(conv.bias?.scalars, [Float](repeating: 0, count: 8))
        XCTAssertEqual(try Conv2D(inputChannels: 3, filters: 8, kernelSize: (3, 5), seed: 4).kernel, conv.kernel)
        XCTAssertNotEqual(try Conv2D(inputChannels: 3, filters: 8, kernelSize: (3, 5), seed: 5).kernel, conv.kernel)
        XCTAssertNil(try Conv2D(inputChannels: 3, filters: 8, kernelSize: (3, 5), useBias: false).bias)
        let up = try Conv2DTranspose(inputChannels: 3, filters: 8, kernelSize: (3, 5), seed: 4)
        XCTAssertEqual(up.kernel.dimensions, [3, 5, 8, 3])
        XCTAssert(up.kernel.scalars.allSatisfy { abs($0) <= limit })
    }
}

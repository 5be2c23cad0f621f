import Foundation
import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// The PyTorch weight import and export of ``Conv2D``, ``Conv2DTranspose`` and
/// ``Dense``, checked against PyTorch itself: `Data/torch_layers.safetensors`
/// (written by `Fixtures/generate_torch.py --suites torch_layers`) holds, per
/// case, an `nn.Conv2d`, `nn.ConvTranspose2d` or `nn.Linear` state_dict, an
/// input in PyTorch layout, the module's output and its autograd gradients for
/// `L = sum(output * grad_output)`. Each layer is built from the PyTorch
/// weights by the public import API, run channels-last, and every result is
/// brought back to PyTorch layout (the weight gradient through the layer's own
/// `pytorchWeight()` export) and compared with the FIXTURES.md tolerances.
///
/// Every comparison has a wrong-layout control (the same values left in our
/// layout, or another axis order, reshaped to PyTorch's shape) that must fail,
/// so a check that could not tell a wrong permutation apart is itself an error.
final class PyTorchLayerInteropTests: XCTestCase {
    /// This file is <root>/Tests/RecurrentTests/PyTorchLayerInteropTests.swift.
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Data/torch_layers.safetensors").path

    func testLayersMatchPyTorch() throws {
        let file = try FixtureCase(suite: "torch_layers", path: Self.path)
        XCTAssertEqual(try file.string("suite"), "torch_layers")
        guard let cases = try file.metadata("cases") as? [String], !cases.isEmpty else {
            throw FixtureError.badMetadata(Self.path, "cases", "missing or empty")
        }
        var kinds = Set<String>()
        for name in cases {
            let label = "torch_layers/\(name)"
            do {
                let config = try Config(file, name)
                kinds.insert(config.module)
                var outcome = Outcome()
                switch config.module {
                case "Conv2d": try checkConv2D(file, config, &outcome)
                case "ConvTranspose2d": try checkConv2DTranspose(file, config, &outcome)
                case "Linear": try checkLinear(file, config, &outcome)
                default: throw FixtureError.badMetadata(Self.path, name, "module \(config.module)")
                }
                let accepted = outcome.controls.filter(\.passed)
                for control in accepted {
                    XCTFail("\(label): wrong-layout control '\(control.name)' was not rejected (worst \(control.worstError))")
                }
                if let failed = outcome.checks.first(where: { !$0.passed }) {
                    print("\(label): FAIL \(failed)")
                    XCTFail("\(label): FAIL \(failed) (\(Self.path))")
                } else {
                    let worst = outcome.checks.max { $0.worstError < $1.worstError }
                    print("\(label): ok (worst \(worst.map { "\($0.name) \($0.worstError)" } ?? "none"); "
                          + "\(outcome.checks.count) tensors, \(outcome.controls.count - accepted.count)/"
                          + "\(outcome.controls.count) wrong-layout controls rejected)")
                }
            } catch {
                print("\(label): FAIL \(error)")
                XCTFail("\(label): FAIL \(error)")
            }
        }
        XCTAssertEqual(kinds, ["Conv2d", "ConvTranspose2d", "Linear"], "the file should cover all three modules")
        XCTAssertEqual(file.unconsumed, [], "tensors in \(Self.path) that no check read")
    }

    // MARK: - Cases

    private func checkConv2D(_ file: FixtureCase, _ config: Config, _ outcome: inout Outcome) throws {
        let name = config.name
        let weight = try file.tensor("\(name).weight")                               // (F, C, KH, KW)
        let bias = config.bias ? try file.tensor("\(name).bias") : nil
        let conv = try Conv2D(pytorchWeight: weight, bias: bias, strides: config.stride, dilation: config.dilation,
                              padding: config.padding)
        try config.requireShape(inputChannels: conv.inputChannels, filters: conv.filters, kernelSize: conv.kernelSize)
        try outcome.exact("\(name).weight round trip", try conv.pytorchWeight(), weight,
                          wrong: try conv.kernel.reshaped(to: weight.shape))

        let input = try file.tensor("\(name).input")
        let channelsLastInput = try input.permuted(Layout.toChannelsLast)
        let (output, cache) = try conv.trainingForward(channelsLastInput)
        var gradients = conv.zeroGradients()
        let inputGradient = try conv.backward(
            outputGradient: try file.tensor("\(name).grad_output").permuted(Layout.toChannelsLast), cache: cache,
            into: &gradients)
        // The kernel gradient has the kernel's layout: exported as a kernel would be.
        let weightGradient = try Conv2D(kernel: gradients.kernel, bias: nil, strides: conv.strides,
                                        dilation: conv.dilation, padding: conv.padding).pytorchWeight()
        // A layer that read the PyTorch weight as if it were already (KH, KW, C, F).
        let misread = try Conv2D(kernel: weight.reshaped(to: conv.kernel.shape), bias: bias, strides: conv.strides,
                                 dilation: conv.dilation, padding: conv.padding)

        let pytorchOutput = try output.permuted(Layout.toChannelsFirst)
        try outcome.check(file, "\(name).output", pytorchOutput, Tolerance.forward, wrong: [
            "not permuted": try output.reshaped(to: pytorchOutput.shape),
            "weight not permuted on import": try misread.forward(channelsLastInput).permuted(Layout.toChannelsFirst),
        ])
        try outcome.check(file, "grad.\(name).input", try inputGradient.permuted(Layout.toChannelsFirst),
                          Tolerance.gradient, wrong: ["not permuted": try inputGradient.reshaped(to: input.shape)])
        try outcome.check(file, "grad.\(name).weight", weightGradient, Tolerance.gradient, wrong: [
            "not exported": try gradients.kernel.reshaped(to: weight.shape),
            "height and width swapped": try gradients.kernel.permuted([3, 2, 1, 0]).reshaped(to: weight.shape),
        ])
        if let biasGradient = gradients.bias {
            try outcome.check(file, "grad.\(name).bias", biasGradient, Tolerance.gradient,
                              wrong: ["reversed": try biasGradient.reversed()])
        }
    }

    private func checkConv2DTranspose(_ file: FixtureCase, _ config: Config, _ outcome: inout Outcome) throws {
        let name = config.name
        let weight = try file.tensor("\(name).weight")                               // (C, F, KH, KW)
        let bias = config.bias ? try file.tensor("\(name).bias") : nil
        let up = try Conv2DTranspose(pytorchWeight: weight, bias: bias, strides: config.stride,
                                     dilation: config.dilation, padding: config.padding)
        try config.requireShape(inputChannels: up.inputChannels, filters: up.filters, kernelSize: up.kernelSize)
        try outcome.exact("\(name).weight round trip", try up.pytorchWeight(), weight,
                          wrong: try up.kernel.reshaped(to: weight.shape))

        let input = try file.tensor("\(name).input")
        let channelsLastInput = try input.permuted(Layout.toChannelsLast)
        let (output, cache) = try up.trainingForward(channelsLastInput)
        var gradients = up.zeroGradients()
        let inputGradient = try up.backward(
            outputGradient: try file.tensor("\(name).grad_output").permuted(Layout.toChannelsLast), cache: cache,
            into: &gradients)
        let weightGradient = try Conv2DTranspose(kernel: gradients.kernel, bias: nil, strides: up.strides,
                                                 dilation: up.dilation, padding: up.padding).pytorchWeight()
        // The Conv2d permutation ((F, C, KH, KW) <-> (KH, KW, C, F)) applied to a
        // ConvTranspose2d weight: input and output channels exchanged.
        let channelsSwapped = try weight.permuted([2, 3, 0, 1])
        let misread = try Conv2DTranspose(kernel: channelsSwapped.reshaped(to: up.kernel.shape), bias: bias,
                                          strides: up.strides, dilation: up.dilation, padding: up.padding)

        let pytorchOutput = try output.permuted(Layout.toChannelsFirst)
        try outcome.check(file, "\(name).output", pytorchOutput, Tolerance.forward, wrong: [
            "not permuted": try output.reshaped(to: pytorchOutput.shape),
            "weight read with channels swapped": try misread.forward(channelsLastInput).permuted(Layout.toChannelsFirst),
        ])
        try outcome.check(file, "grad.\(name).input", try inputGradient.permuted(Layout.toChannelsFirst),
                          Tolerance.gradient, wrong: ["not permuted": try inputGradient.reshaped(to: input.shape)])
        try outcome.check(file, "grad.\(name).weight", weightGradient, Tolerance.gradient, wrong: [
            "not exported": try gradients.kernel.reshaped(to: weight.shape),
            "channels swapped": try gradients.kernel.permuted([2, 3, 0, 1]).reshaped(to: weight.shape),
        ])
        if let biasGradient = gradients.bias {
            try outcome.check(file, "grad.\(name).bias", biasGradient, Tolerance.gradient,
                              wrong: ["reversed": try biasGradient.reversed()])
        }
    }

    /// `nn.Linear.weight` (out, in) is ``Dense/weight`` as it is: no conversion.
    private func checkLinear(_ file: FixtureCase, _ config: Config, _ outcome: inout Outcome) throws {
        let name = config.name
        let weight = try file.tensor("\(name).weight")                               // (out, in)
        let expectedShape = [try config.int("out_features"), try config.int("in_features")]
        guard weight.dimensions == expectedShape else {
            throw FixtureError.wrongShape(Self.path, "\(name).weight", expected: expectedShape, actual: weight.dimensions)
        }
        let bias = config.bias ? try file.tensor("\(name).bias") : try Tensor(shape: [weight.dimensions[0]])
        let dense = try Dense(weight: weight, bias: bias)
        let transposed = try weight.permuted([1, 0]).reshaped(to: weight.shape)     // Keras's (in, out) read as (out, in)
        try outcome.exact("\(name).weight round trip", dense.weight, weight, wrong: transposed)

        let input = try file.tensor("\(name).input")
        let (output, cache) = try dense.trainingForward(input)
        var gradients = dense.zeroGradients()
        let inputGradient = try dense.backward(outputGradient: try file.tensor("\(name).grad_output"), cache: cache,
                                               into: &gradients)
        let misread = try Dense(weight: transposed, bias: bias)
        let axesSwapped = Array([1, 0] + Array(2 ..< input.shape.rank))             // batch and time exchanged
        try outcome.check(file, "\(name).output", output, Tolerance.forward, wrong: [
            "weight transposed": try misread.forward(input),
            "leading axes swapped": try output.permuted(axesSwapped).reshaped(to: output.shape),
        ])
        try outcome.check(file, "grad.\(name).input", inputGradient, Tolerance.gradient, wrong: [
            "leading axes swapped": try inputGradient.permuted(axesSwapped).reshaped(to: input.shape),
        ])
        try outcome.check(file, "grad.\(name).weight", gradients.weight, Tolerance.gradient, wrong: [
            "transposed": try gradients.weight.permuted([1, 0]).reshaped(to: weight.shape),
        ])
        if config.bias {
            try outcome.check(file, "grad.\(name).bias", gradients.bias, Tolerance.gradient,
                              wrong: ["reversed": try gradients.bias.reversed()])
        }
    }
}

// MARK: - Support

private enum Layout {
    /// (N, C, H, W) -> (N, H, W, C).
    static let toChannelsLast = [0, 2, 3, 1]
    /// (N, H, W, C) -> (N, C, H, W).
    static let toChannelsFirst = [0, 3, 1, 2]
}

/// One case's configuration: the JSON object stored under the case's name in
/// the file's metadata.
private struct Config {
    let name: String
    let values: [String: Any]

    init(_ file: FixtureCase, _ name: String) throws {
        guard let values = try file.metadata(name) as? [String: Any] else {
            throw FixtureError.badMetadata(file.path, name, "missing or not a JSON object")
        }
        self.name = name
        self.values = values
        if module != "Linear" {
            guard (values["groups"] as? NSNumber)?.intValue == 1, (values["padding_mode"] as? String) == "zeros" else {
                throw FixtureError.badMetadata(file.path, name, "groups and padding_mode must be 1 and zeros")
            }
            if module == "ConvTranspose2d", try pair("output_padding") != (0, 0) {
                throw FixtureError.badMetadata(file.path, name, "output_padding must be [0, 0]")
            }
        }
    }

    var module: String { values["module"] as? String ?? "" }
    var bias: Bool { values["bias"] as? Bool ?? true }

    func int(_ key: String) throws -> Int {
        guard let number = values[key] as? NSNumber else {
            throw FixtureError.badMetadata(PyTorchLayerInteropTests.path, "\(name).\(key)", "\(values[key] ?? "missing")")
        }
        return number.intValue
    }

    func pair(_ key: String) throws -> (height: Int, width: Int) {
        guard let list = values[key] as? [NSNumber], list.count == 2 else {
            throw FixtureError.badMetadata(PyTorchLayerInteropTests.path, "\(name).\(key)", "\(values[key] ?? "missing")")
        }
        return (list[0].intValue, list[1].intValue)
    }

    var stride: (height: Int, width: Int) { get throws { try pair("stride") } }
    var dilation: (height: Int, width: Int) { get throws { try pair("dilation") } }

    /// Our TensorFlow-style padding that equals PyTorch's (`tf_padding`).
    var padding: ConvolutionPadding {
        get throws {
            guard let text = values["tf_padding"] as? String, let padding = ConvolutionPadding(rawValue: text) else {
                throw FixtureError.badMetadata(PyTorchLayerInteropTests.path, "\(name).tf_padding",
                                               "\(values["tf_padding"] ?? "missing")")
            }
            return padding
        }
    }

    /// Throws unless the imported layer's sizes are the metadata's.
    func requireShape(inputChannels: Int, filters: Int, kernelSize: (height: Int, width: Int)) throws {
        guard try int("in_channels") == inputChannels, try int("out_channels") == filters,
              try pair("kernel_size") == kernelSize else {
            throw FixtureError.badMetadata(PyTorchLayerInteropTests.path, name,
                                           "in_channels/out_channels/kernel_size disagree with the imported layer "
                                           + "(\(inputChannels), \(filters), \(kernelSize))")
        }
    }
}

/// The comparisons of one case and their wrong-layout controls.
private struct Outcome {
    var checks: [Comparison] = []
    /// Comparisons of deliberately mislaid values with the same expected
    /// tensors; every one must fail.
    var controls: [Comparison] = []

    /// Compares `actual` with the file's tensor `name` (same dimensions, then
    /// every element within `tolerance`), and each `wrong` candidate as a control.
    mutating func check(_ file: FixtureCase, _ name: String, _ actual: Tensor,
                        _ tolerance: (atol: Float, rtol: Float), wrong: [String: Tensor]) throws {
        let expected = try file.tensor(name)
        guard expected.dimensions == actual.dimensions else {
            throw FixtureError.wrongShape(file.path, name, expected: expected.dimensions, actual: actual.dimensions)
        }
        checks.append(compare(name, actual: actual.scalars, expected: expected.scalars,
                              atol: tolerance.atol, rtol: tolerance.rtol))
        for (label, candidate) in wrong.sorted(by: { $0.key < $1.key }) {
            controls.append(compare("\(name) (\(label))", actual: candidate.scalars, expected: expected.scalars,
                                    atol: tolerance.atol, rtol: tolerance.rtol))
        }
    }

    /// Requires `actual` to equal `expected` exactly (dimensions and bits), and
    /// `wrong` not to.
    mutating func exact(_ name: String, _ actual: Tensor, _ expected: Tensor, wrong: Tensor) throws {
        guard expected.dimensions == actual.dimensions else {
            throw FixtureError.wrongShape(PyTorchLayerInteropTests.path, name, expected: expected.dimensions,
                                          actual: actual.dimensions)
        }
        checks.append(compare(name, actual: actual.scalars, expected: expected.scalars,
                              atol: Tolerance.exact.atol, rtol: Tolerance.exact.rtol))
        controls.append(compare("\(name) (wrong layout)", actual: wrong.scalars, expected: expected.scalars,
                                atol: Tolerance.exact.atol, rtol: Tolerance.exact.rtol))
    }
}

extension Tensor {
    /// A copy with its axes reordered: axis `i` of the result is axis `order[i]`
    /// of `self` (NumPy's `transpose(order)`), any rank.
    fileprivate func permuted(_ order: [Int]) throws -> Tensor {
        let source = dimensions
        precondition(order.sorted() == Array(0 ..< source.count), "not a permutation of \(source.count) axes: \(order)")
        var sourceStrides = [Int](repeating: 1, count: source.count)
        for axis in stride(from: source.count - 2, through: 0, by: -1) {
            sourceStrides[axis] = sourceStrides[axis + 1] * source[axis + 1]
        }
        let target = order.map { source[$0] }
        let steps = order.map { sourceStrides[$0] }
        let values = scalars
        var result = [Float]()
        result.reserveCapacity(count)
        var index = [Int](repeating: 0, count: target.count)
        for _ in 0 ..< count {
            result.append(values[zip(index, steps).reduce(0) { $0 + $1.0 * $1.1 }])
            var axis = target.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < target[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return try Tensor(shape: Shape(target), scalars: result)
    }

    /// A copy of a rank-1 tensor in reverse order.
    fileprivate func reversed() throws -> Tensor {
        try Tensor(shape: shape, scalars: scalars.reversed())
    }
}

import Foundation
import FrameSequencing
import TestSupport
@testable import Recurrent   // the LSTM's hook for given recurrent dropout masks

/// Suite `lstm`: PyTorch `nn.LSTM(batch_first=True)`, forward and every gradient.
enum LSTMSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        var parameters: [String: Tensor] = [:]
        for name in fixture.file.names where name.hasPrefix("weight_") || name.hasPrefix("bias_") {
            parameters[name] = try fixture.tensor(name)
        }
        let lstm = try LSTM(pytorchStateDict: parameters)
        guard lstm.projectionSize == (try fixture.int("proj_size") ?? 0), lstm.hasBias == (try fixture.metadataBool("bias")) else {
            throw FixtureError.badMetadata(fixture.path, "proj_size/bias", "the state dict says \(lstm.projectionSize)/\(lstm.hasBias)")
        }
        let initial = LSTMState(hidden: try fixture.tensor("h0"), cell: try fixture.tensor("c0"))
        let lengths: [Int]? = try fixture.metadataBool("has_lengths") ? try fixture.int64("lengths") : nil
        let (result, cache) = try lstm.trainingForward(try fixture.tensor("input"), initialState: initial, lengths: lengths)
        var gradients = lstm.zeroGradients()
        let inputGradients = try lstm.backward(
            outputGradient: try fixture.tensor("grad_output"),
            finalStateGradient: LSTMState(hidden: try fixture.tensor("grad_h_n"), cell: try fixture.tensor("grad_c_n")),
            cache: cache, into: &gradients)

        var results = [
            try fixture.check("output", result.output, Tolerance.forward),
            try fixture.check("h_n", result.finalState.hidden, Tolerance.forward),
            try fixture.check("c_n", result.finalState.cell, Tolerance.forward),
            try fixture.check("grad.input", inputGradients.input, Tolerance.gradient),
            try fixture.check("grad.h0", inputGradients.initialState.hidden, Tolerance.gradient),
            try fixture.check("grad.c0", inputGradients.initialState.cell, Tolerance.gradient),
        ]
        let gradientLSTM = try LSTM(inputSize: lstm.inputSize, hiddenSize: lstm.hiddenSize, projectionSize: lstm.projectionSize,
                                    layerCount: lstm.layerCount, bidirectional: lstm.isBidirectional, bias: lstm.hasBias,
                                    weights: gradients.layers)
        for (name, tensor) in gradientLSTM.namedParameters {
            results.append(try fixture.check("grad." + name, tensor, Tolerance.gradient))
        }
        return results
    }
}

/// Suite `keras_lstm`: `keras.layers.LSTM`, forward and every gradient, with
/// `go_backwards`, `zero_output_for_mask`, `use_bias`, a `mask` and
/// `recurrent_dropout` with its given masks when the case has them.
enum KerasLSTMSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        let hasBias = fixture.has("bias")
        var lstm = try LSTM(kerasKernel: fixture.tensor("kernel"), recurrentKernel: fixture.tensor("recurrent_kernel"),
                            bias: hasBias ? fixture.tensor("bias") : nil)
        lstm.goBackwards = try fixture.metadataBool("go_backwards")
        lstm.maskedOutput = try fixture.metadataBool("zero_output_for_mask") ? .zero : .lastValid
        lstm.recurrentDropout = try fixture.float("recurrent_dropout") ?? 0
        let returnSequences = try fixture.metadataBool("return_sequences")
        let input = try fixture.tensor("input")
        // Keras ran in training mode with these (4, B, U) masks in place of its
        // draw; the LSTM takes them the same way, through its internal hook.
        let recurrentMasks = fixture.has("recurrent_dropout_mask") ? [try fixture.tensor("recurrent_dropout_mask").scalars] : nil
        guard (recurrentMasks == nil) == (lstm.recurrentDropout == 0) else {
            throw FixtureError.badMetadata(fixture.path, "recurrent_dropout", "\(lstm.recurrentDropout) with masks: \(recurrentMasks != nil)")
        }
        let (result, optionalCache) = try lstm.run(
            input, initialState: nil, lengths: nil, mask: fixture.has("mask") ? try fixture.maskTensor("mask") : nil,
            layout: .batchMajor, returnSequences: returnSequences, training: true, dropoutSeed: 0, recurrentMasks: recurrentMasks)
        let cache = optionalCache!
        var gradients = lstm.zeroGradients()
        let inputGradients = try lstm.backward(outputGradient: try fixture.tensor("grad_output"), finalStateGradient: nil, cache: cache, into: &gradients)
        let asKeras = try LSTM(inputSize: lstm.inputSize, hiddenSize: lstm.hiddenSize, bias: hasBias,
                               weights: gradients.layers).kerasWeights()
        var results = [
            try fixture.check("output", result.output, Tolerance.forward),
            try fixture.check("grad.input", inputGradients.input, Tolerance.gradient),
            try fixture.check("grad.kernel", asKeras.kernel, Tolerance.gradient),
            try fixture.check("grad.recurrent_kernel", asKeras.recurrentKernel, Tolerance.gradient),
        ]
        if hasBias {
            // Keras has one bias; dL/db equals our input-bias gradient (kerasWeights would
            // sum the two bias gradients, which are equal, giving twice the value).
            let biasGradient = try Tensor(shape: [4 * lstm.hiddenSize], scalars: gradients.layers[0].inputBias.scalars)
            results.append(try fixture.check("grad.bias", biasGradient, Tolerance.gradient))
        }
        return results
    }
}

/// Suite `keras_dense`: `keras.layers.Dense`, forward and every gradient.
enum KerasDenseSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        let name = try fixture.string("activation") ?? "linear"
        guard let activation = Activation(rawValue: name) else {
            throw FixtureError.badMetadata(fixture.path, "activation", name)
        }
        let dense = try Dense(kerasKernel: fixture.tensor("kernel"), bias: fixture.tensor("bias"), activation: activation)
        let (output, cache) = try dense.trainingForward(try fixture.tensor("input"))
        var gradients = dense.zeroGradients()
        let inputGradient = try dense.backward(outputGradient: try fixture.tensor("grad_output"), cache: cache, into: &gradients)
        return [
            try fixture.check("output", output, Tolerance.forward),
            try fixture.check("grad.input", inputGradient, Tolerance.gradient),
            try fixture.check("grad.kernel", try Dense(weight: gradients.weight, bias: gradients.bias).kerasWeights().kernel,
                              Tolerance.gradient),
            try fixture.check("grad.bias", gradients.bias, Tolerance.gradient),
        ]
    }
}

extension FixtureCase {
    /// Compares `actual` with the file's tensor `name` (shapes must agree).
    func check(_ name: String, _ actual: Tensor, _ tolerance: (atol: Float, rtol: Float)) throws -> Comparison {
        let expected = try tensor(name)
        try requireSameShape(self, name, expected: expected, actual: actual)
        return compare(name, actual: actual.scalars, expected: expected.scalars, atol: tolerance.atol, rtol: tolerance.rtol)
    }

    /// A JSON boolean metadata value (`"true"`/`"false"`); false when absent.
    func metadataBool(_ key: String) throws -> Bool {
        guard let value = try metadata(key) else { return false }
        if let flag = value as? Bool { return flag }
        if let text = value as? String { return text == "true" }
        if let number = value as? NSNumber { return number.boolValue }
        throw FixtureError.badMetadata(path, key, "\(value)")
    }

    /// An I64 (B, T) mask as a Float tensor of 0 and 1.
    func maskTensor(_ name: String) throws -> Tensor {
        let values = try int64(name)
        let dimensions = try array(name).shape
        return try Tensor(shape: Shape(dimensions), scalars: values.map { Float($0) })
    }

    /// An I64 tensor as Swift integers.
    func int64(_ name: String) throws -> [Int] {
        guard case .int64(let values) = try array(name).data else {
            throw FixtureError.badMetadata(path, name, "expected an I64 tensor")
        }
        return values.map { Int($0) }
    }
}

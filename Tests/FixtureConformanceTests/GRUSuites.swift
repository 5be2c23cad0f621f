import Foundation
import FrameSequencing
import Recurrent
import TestSupport

/// Suite `gru`: PyTorch `nn.GRU(batch_first=True)`, forward and every gradient.
enum GRUSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        var parameters: [String: Tensor] = [:]
        for name in fixture.file.names where name.hasPrefix("weight_") || name.hasPrefix("bias_") {
            parameters[name] = try fixture.tensor(name)
        }
        let gru = try GRU(pytorchStateDict: parameters)
        guard gru.hasBias == (try fixture.metadataBool("bias")) else {
            throw FixtureError.badMetadata(fixture.path, "bias", "disagrees with the tensors present")
        }
        let lengths: [Int]? = try fixture.metadataBool("has_lengths") ? try fixture.int64("lengths") : nil
        let (result, cache) = try gru.trainingForward(try fixture.tensor("input"), initialHidden: try fixture.tensor("h0"),
                                                      lengths: lengths)
        var gradients = gru.zeroGradients()
        let inputGradients = try gru.backward(outputGradient: try fixture.tensor("grad_output"),
                                              finalHiddenGradient: try fixture.tensor("grad_h_n"), cache: cache, into: &gradients)
        var results = [
            try fixture.check("output", result.output, Tolerance.forward),
            try fixture.check("h_n", result.finalHidden, Tolerance.forward),
            try fixture.check("grad.input", inputGradients.input, Tolerance.gradient),
            try fixture.check("grad.h0", inputGradients.initialHidden, Tolerance.gradient),
        ]
        // namedParameters and GRUGradients.tensors share one order (no biases without bias).
        for ((name, _), tensor) in zip(gru.namedParameters, gradients.tensors) {
            results.append(try fixture.check("grad." + name, tensor, Tolerance.gradient))
        }
        return results
    }
}

/// Suite `keras_gru`: `keras.layers.GRU`, both `reset_after` forms, forward and every gradient,
/// with `go_backwards`, `zero_output_for_mask` and a `mask` when the case has them.
enum KerasGRUSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        var gru = try GRU(kerasKernel: fixture.tensor("kernel"), recurrentKernel: fixture.tensor("recurrent_kernel"),
                          bias: fixture.tensor("bias"))
        guard gru.resetsAfterProduct == (try fixture.metadataBool("reset_after")) else {
            throw FixtureError.badMetadata(fixture.path, "reset_after", "disagrees with the bias's shape")
        }
        gru.goBackwards = try fixture.metadataBool("go_backwards")
        gru.maskedOutput = try fixture.metadataBool("zero_output_for_mask") ? .zero : .lastValid
        let returnSequences = try fixture.metadataBool("return_sequences")
        let input = try fixture.tensor("input")
        let (result, cache) = fixture.has("mask")
            ? try gru.trainingForward(input, mask: try fixture.maskTensor("mask"), returnSequences: returnSequences)
            : try gru.trainingForward(input, returnSequences: returnSequences)
        var gradients = gru.zeroGradients()
        let inputGradient = try gru.backward(outputGradient: try fixture.tensor("grad_output"), cache: cache, into: &gradients)
        // Keras's bias gradient: with reset_after the two biases side by side; without, its one
        // bias is our input bias (the recurrent bias's gradient equals it, and the export sums them).
        var layers = gradients.layers
        if !gru.resetsAfterProduct { layers[0].recurrentBias = Tensor(zerosLike: layers[0].recurrentBias) }
        let asKeras = try GRU(inputSize: gru.inputSize, hiddenSize: gru.hiddenSize, resetAfter: gru.resetsAfterProduct,
                              weights: layers).kerasWeights()
        return [
            try fixture.check("output", result.output, Tolerance.forward),
            try fixture.check("grad.input", inputGradient, Tolerance.gradient),
            try fixture.check("grad.kernel", asKeras.kernel, Tolerance.gradient),
            try fixture.check("grad.recurrent_kernel", asKeras.recurrentKernel, Tolerance.gradient),
        ] + (try asKeras.bias.map { [try fixture.check("grad.bias", $0, Tolerance.gradient)] } ?? [])
    }
}

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

import Foundation
import FrameSequencing
import Recurrent
import TestSupport

/// Suite `keras_convlstm2d`: `keras.layers.ConvLSTM2D` (zero initial state),
/// built from the Keras weights with ``ConvLSTM2D/init(kerasKernel:recurrentKernel:bias:strides:dilation:padding:goBackwards:)``;
/// forward and every gradient, with `go_backwards`, `zero_output_for_mask`
/// and a `mask` when the case has them.
enum KerasConvLSTM2DSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        var layer = try ConvLSTM2D(kerasKernel: fixture.tensor("kernel"), recurrentKernel: fixture.tensor("recurrent_kernel"),
                                   bias: fixture.tensor("bias"), strides: fixture.pair("strides"),
                                   dilation: fixture.pair("dilation_rate", default: (1, 1)), padding: fixture.padding(),
                                   goBackwards: try fixture.metadataBool("go_backwards"))
        layer.maskedOutput = try fixture.metadataBool("zero_output_for_mask") ? .zero : .lastValid
        try fixture.requireFilters(layer.filters, kernelSize: layer.kernelSize)
        let returnSequences = try fixture.metadataBool("return_sequences")
        let input = try fixture.tensor("input")
        let (result, cache) = fixture.has("mask")
            ? try layer.trainingForward(input, mask: try fixture.maskTensor("mask"), returnSequences: returnSequences)
            : try layer.trainingForward(input, returnSequences: returnSequences)
        var gradients = layer.zeroGradients()
        let inputs = try layer.backward(outputGradient: try fixture.tensor("grad_output"), finalStateGradient: nil, cache: cache, into: &gradients)
        return [
            try fixture.check("output", result.output, Tolerance.forward),
            try fixture.check("grad.input", inputs.input, Tolerance.gradient),
            try fixture.check("grad.kernel", gradients.kernel, Tolerance.gradient),
            try fixture.check("grad.recurrent_kernel", gradients.recurrentKernel, Tolerance.gradient),
            try fixture.check("grad.bias", gradients.bias, Tolerance.gradient),
        ]
    }
}

import Foundation
import FrameSequencing
import Recurrent
import TestSupport

/// Suite `keras_conv2d`: `keras.layers.Conv2D`, forward and every gradient.
enum KerasConv2DSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        let conv = try Conv2D(kernel: fixture.tensor("kernel"), bias: fixture.tensor("bias"),
                              strides: fixture.pair("strides"), dilation: fixture.pair("dilation_rate", default: (1, 1)),
                              padding: fixture.padding(), activation: fixture.activation("activation"))
        try fixture.requireFilters(conv.filters, kernelSize: conv.kernelSize)
        let (output, cache) = try conv.trainingForward(try fixture.tensor("input"))
        var gradients = conv.zeroGradients()
        let inputGradient = try conv.backward(outputGradient: try fixture.tensor("grad_output"), cache: cache, into: &gradients)
        return [
            try fixture.check("output", output, Tolerance.forward),
            try fixture.check("grad.input", inputGradient, Tolerance.gradient),
            try fixture.check("grad.kernel", gradients.kernel, Tolerance.gradient),
            try fixture.check("grad.bias", gradients.bias!, Tolerance.gradient),
        ]
    }
}

/// Suite `keras_conv2d_transpose`: `keras.layers.Conv2DTranspose`, forward and every gradient.
enum KerasConv2DTransposeSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        if let padding = try fixture.metadata("output_padding"), !(padding is NSNull) {
            throw FixtureError.badMetadata(fixture.path, "output_padding", "\(padding) (only null is supported)")
        }
        let conv = try Conv2DTranspose(kernel: fixture.tensor("kernel"), bias: fixture.tensor("bias"),
                                       strides: fixture.pair("strides"), dilation: fixture.pair("dilation_rate", default: (1, 1)),
                                       padding: fixture.padding(), activation: fixture.activation("activation"))
        try fixture.requireFilters(conv.filters, kernelSize: conv.kernelSize)
        let (output, cache) = try conv.trainingForward(try fixture.tensor("input"))
        var gradients = conv.zeroGradients()
        let inputGradient = try conv.backward(outputGradient: try fixture.tensor("grad_output"), cache: cache, into: &gradients)
        return [
            try fixture.check("output", output, Tolerance.forward),
            try fixture.check("grad.input", inputGradient, Tolerance.gradient),
            try fixture.check("grad.kernel", gradients.kernel, Tolerance.gradient),
            try fixture.check("grad.bias", gradients.bias!, Tolerance.gradient),
        ]
    }
}

/// Suite `keras_maxpool2d`: `keras.layers.MaxPooling2D`, forward and the input gradient.
enum KerasMaxPool2DSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        let pool = try MaxPool2D(poolSize: fixture.pair("pool_size"), strides: fixture.pair("strides"),
                                 padding: fixture.padding())
        let (output, cache) = try pool.trainingForward(try fixture.tensor("input"))
        let inputGradient = try pool.backward(outputGradient: try fixture.tensor("grad_output"), cache: cache)
        return [
            try fixture.check("output", output, Tolerance.forward),
            try fixture.check("grad.input", inputGradient, Tolerance.gradient),
        ]
    }
}

/// Suite `keras_cnn_lstm`: TimeDistributed Conv2D, MaxPooling2D and Flatten, an
/// LSTM returning the last step and a Dense, built as a ``CNNLSTM`` from the
/// Keras weights; forward and every gradient.
enum KerasCNNLSTMSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        let conv = try Conv2D(kernel: fixture.tensor("conv.kernel"), bias: fixture.tensor("conv.bias"),
                              activation: fixture.activation("conv_activation"))
        try fixture.requireFilters(conv.filters, kernelSize: conv.kernelSize)
        let features = TimeDistributed(try Sequential([
            .conv2D(conv), .maxPool2D(try MaxPool2D(poolSize: fixture.pair("pool_size"))), .flatten,
        ]))
        let lstm = try LSTM(kerasKernel: fixture.tensor("lstm.kernel"), recurrentKernel: fixture.tensor("lstm.recurrent_kernel"),
                            bias: fixture.tensor("lstm.bias"))
        let head = try Dense(kerasKernel: fixture.tensor("dense.kernel"), bias: fixture.tensor("dense.bias"))
        guard lstm.hiddenSize == (try fixture.requiredInt("units")), head.outputSize == (try fixture.requiredInt("outputs")) else {
            throw FixtureError.badMetadata(fixture.path, "units/outputs", "they disagree with the weights' shapes")
        }
        let model = try CNNLSTM(features: features, lstm: lstm, head: head)
        let (output, cache) = try model.trainingForward(try fixture.tensor("input"))
        var gradients = model.zeroGradients()
        let inputGradient = try model.backward(outputGradient: try fixture.tensor("grad_output"), cache: cache, into: &gradients)
        let (featureGradients, lstmLayers) = (try gradients.layer(0, as: Sequential.Gradients.self),
                                              try gradients.layer(1, as: LSTMGradients.self).layers)
        let headGradients = try gradients.layer(2, as: Dense.Gradients.self)
        guard let convGradients = featureGradients.layers[0] as? Conv2D.Gradients else {
            throw FixtureError.badMetadata(fixture.path, "model", "the first layer's gradients are not a Conv2D's")
        }
        let lstmGradients = try LSTM(inputSize: lstm.inputSize, hiddenSize: lstm.hiddenSize,
                                     weights: lstmLayers).kerasWeights()
        // Keras has one LSTM bias; its gradient equals our input-bias gradient
        // (kerasWeights sums the two equal bias gradients).
        let lstmBias = try Tensor(shape: [lstmLayers[0].inputBias.count], scalars: lstmLayers[0].inputBias.scalars)
        return [
            try fixture.check("output", output, Tolerance.forward),
            try fixture.check("grad.input", inputGradient, Tolerance.gradient),
            try fixture.check("grad.conv.kernel", convGradients.kernel, Tolerance.gradient),
            try fixture.check("grad.conv.bias", convGradients.bias!, Tolerance.gradient),
            try fixture.check("grad.lstm.kernel", lstmGradients.kernel, Tolerance.gradient),
            try fixture.check("grad.lstm.recurrent_kernel", lstmGradients.recurrentKernel, Tolerance.gradient),
            try fixture.check("grad.lstm.bias", lstmBias, Tolerance.gradient),
            try fixture.check("grad.dense.kernel", try Dense(weight: headGradients.weight, bias: headGradients.bias)
                .kerasWeights().kernel, Tolerance.gradient),
            try fixture.check("grad.dense.bias", headGradients.bias, Tolerance.gradient),
        ]
    }
}

extension FixtureCase {
    /// A `[height, width]` JSON list of integers (`default` when the key is absent).
    func pair(_ key: String, default fallback: (height: Int, width: Int)? = nil) throws -> (height: Int, width: Int) {
        guard let value = try metadata(key) else {
            if let fallback { return fallback }
            throw FixtureError.badMetadata(path, key, "missing")
        }
        guard let list = value as? [NSNumber], list.count == 2 else {
            throw FixtureError.badMetadata(path, key, "\(value) (expected [height, width])")
        }
        return (list[0].intValue, list[1].intValue)
    }

    /// The `padding` metadata as ``ConvolutionPadding``.
    func padding() throws -> ConvolutionPadding {
        let text = try string("padding") ?? "valid"
        guard let padding = ConvolutionPadding(rawValue: text) else { throw FixtureError.badMetadata(path, "padding", text) }
        return padding
    }

    /// The activation named by metadata `key` ("linear" when absent).
    func activation(_ key: String) throws -> Activation {
        let name = try string(key) ?? "linear"
        guard let activation = Activation(rawValue: name) else { throw FixtureError.badMetadata(path, key, name) }
        return activation
    }

    /// Throws unless metadata `filters` and `kernel_size` agree with the weights.
    func requireFilters(_ filters: Int, kernelSize: (height: Int, width: Int)) throws {
        let k = try pair("kernel_size")
        guard try requiredInt("filters") == filters, k == kernelSize else {
            throw FixtureError.badMetadata(path, "filters/kernel_size", "they disagree with the kernel's shape")
        }
    }
}

import FrameSequencing

/// Predicts the next frame from each prefix of a frame sequence with a U-Net
/// (Ronneberger et al., 2015) around a recurrent bottleneck: a convolutional
/// encoder per frame whose every stage's feature map skips across to the
/// decoder, a ``ConvLSTM2D`` over the smallest feature maps that carries the
/// motion from frame to frame, and a decoder of transposed convolutions that
/// joins each skip by concatenation on its way back to the frame's size.
///
/// ```swift
/// let model = try UNetForecaster(frameHeight: 64, frameWidth: 64, channels: 1, filters: [16, 32], seed: 3)
/// let predicted = try model.forward(frames, context: LayerContext())   // (B, T, 64, 64, 1): step t predicts frame t + 1
/// ```
///
/// Per frame, with stages `i = 0 ..< L` (`L = filters.count`):
///
///     s_i = relu(conv3x3(x_i))            (H_i, W_i, filters[i]), the skip; x_0 the frame
///     x_{i+1} = maxpool2x2(s_i)           (ceil(H_i / 2), ceil(W_i / 2), filters[i]), or a 2 x 2 stride-2 conv
///     h_t = ConvLSTM2D(x_L, h_{t-1})      (H_L, W_L, bottleneckFilters), state carried over time
///     d_L = h_t
///     d_i = relu(conv3x3([crop(relu(upconv3x3/2(d_{i+1}))), s_i]))   (H_i, W_i, filters[i])
///     prediction = outputActivation(conv1x1(d_0))                     (H, W, channels)
///
/// where `[a, b]` is ``Concatenate`` along the channels and the crop drops the
/// row or column the upsampling adds where pooling rounded an odd size up.
/// ReLU is the hidden layers' activation by default (``hiddenActivation``).
/// Only the bottleneck sees more than one frame: the skips carry where the
/// strokes are now at full resolution, the recurrence carries where they go.
///
/// The per-frame layers run once over all `B * T` frames (the time axis
/// folded into the batch, as ``TimeDistributed`` does). Train the model on
/// windows whose target is the window shifted by one frame
/// (`WindowTarget.shifted`), or on its own predictions
/// (``ClosedLoopTrainable``).
///
/// The layers are read-only: their wiring (each decoder stage reads the
/// stage above and a skip) is fixed when the model is made. Replace weights
/// through ``Trainable/loadParameters(_:)`` or ``Trainable/updateParameters(_:)``,
/// which check every shape.
public struct UNetForecaster: Sendable {
    /// Per stage, the 3 x 3 Conv2D (padding same, ReLU) whose output is the
    /// stage's skip: stage `i` maps `filters[i - 1]` channels (the frame's for
    /// stage 0) to `filters[i]`. Each is followed by ``pooling``.
    public internal(set) var encoder: [Conv2D]
    /// The 2 x 2 max pooling (padding same, so odd sizes round up) after every
    /// stage; nil when ``downsamplingConvolutions`` downsample instead.
    public let pooling: MaxPool2D?
    /// With ``UNetDownsampling/stridedConvolution``, per stage the 2 x 2
    /// Conv2D of stride 2 (padding same, `filters[i]` channels in and out)
    /// after it; empty with max pooling.
    public internal(set) var downsamplingConvolutions: [Conv2D]
    /// The recurrence over the last stage's pooled maps (padding same, stride 1:
    /// its state is (B, H_L, W_L, F) on that grid), from zeros at the first frame.
    public internal(set) var bottleneck: ConvLSTM2D
    /// Per stage, the way back up to that stage's grid: `decoder[i]` reads
    /// `decoder[i + 1]`'s output (the bottleneck's for the last) and skip `i`,
    /// so the stages run from the last to `decoder[0]`, at the frame's size.
    public internal(set) var decoder: [UNetDecoderStage]
    /// The 1 x 1 Conv2D from `decoder[0]`'s `filters[0]` channels to the
    /// frame's, with the output activation.
    public internal(set) var head: Conv2D
    /// The frames' height (H), width (W) and channels (C) the model reads and predicts.
    public let frameHeight: Int, frameWidth: Int, channels: Int

    /// The U-Net around a ConvLSTM bottleneck with Keras's seeded initializers:
    /// per entry of `filters`, an encoder stage and a decoder stage (see the
    /// type's summary), a ``ConvLSTM2D`` of `bottleneckFilters` and
    /// `bottleneckKernelSize` (padding same), and a 1 x 1 head to `channels`
    /// with `outputActivation` (sigmoid for intensities in [0, 1]). The frame's
    /// convolutions are 3 x 3; the up-convolutions 3 x 3 of stride 2; every
    /// hidden convolution uses `hiddenActivation`.
    ///
    /// - Throws: `invalidArgument` for a size, filter count or kernel size below
    ///   1, or an empty `filters`.
    public init(frameHeight: Int, frameWidth: Int, channels: Int, filters: [Int] = [16, 32], bottleneckFilters: Int = 32,
                bottleneckKernelSize: (height: Int, width: Int) = (3, 3), downsampling: UNetDownsampling = .maxPooling,
                hiddenActivation: Activation = .relu, outputActivation: Activation = .sigmoid, seed: UInt64 = 0) throws {
        guard !filters.isEmpty, filters.allSatisfy({ $0 > 0 }) else {
            throw RecurrentError.invalidArgument(name: "UNetForecaster filters", expected: "at least one entry (one per stage), each at least 1",
                                                 actual: "\(filters)")
        }
        try RecurrentError.requirePositive((frameHeight, frameWidth), "UNetForecaster frame size")
        try RecurrentError.requirePositive(channels, "UNetForecaster channels")
        try RecurrentError.requirePositive(bottleneckFilters, "UNetForecaster bottleneckFilters")
        var (encoder, strided, decoder) = ([Conv2D](), [Conv2D](), [UNetDecoderStage]())
        for (index, count) in filters.enumerated() {
            let offset = UInt64(index)
            encoder.append(try Conv2D(inputChannels: index == 0 ? channels : filters[index - 1], filters: count,
                                      kernelSize: (3, 3), padding: .same, activation: hiddenActivation, seed: seed &+ offset))
            if downsampling == .stridedConvolution {
                strided.append(try Conv2D(inputChannels: count, filters: count, kernelSize: (2, 2), strides: (2, 2), padding: .same,
                                          activation: hiddenActivation, seed: seed &+ 500 &+ offset))
            }
            let below = index == filters.count - 1 ? bottleneckFilters : filters[index + 1]
            decoder.append(UNetDecoderStage(
                up: try Conv2DTranspose(inputChannels: below, filters: count, kernelSize: (3, 3), strides: (2, 2),
                                        padding: .same, activation: hiddenActivation, seed: seed &+ 200 &+ offset),
                conv: try Conv2D(inputChannels: 2 * count, filters: count, kernelSize: (3, 3), padding: .same,
                                 activation: hiddenActivation, seed: seed &+ 300 &+ offset)))
        }
        (self.encoder, downsamplingConvolutions, self.decoder) = (encoder, strided, decoder)
        pooling = downsampling == .maxPooling ? try MaxPool2D(poolSize: (2, 2), padding: .same) : nil
        bottleneck = try ConvLSTM2D(inputChannels: filters[filters.count - 1], filters: bottleneckFilters,
                                    kernelSize: bottleneckKernelSize, padding: .same, seed: seed &+ 100)
        head = try Conv2D(inputChannels: filters[0], filters: channels, kernelSize: (1, 1), activation: outputActivation,
                          seed: seed &+ 400)
        (self.frameHeight, self.frameWidth, self.channels) = (frameHeight, frameWidth, channels)
    }

    /// Encoder stages (L), each with a skip and a decoder stage.
    public var stageCount: Int { encoder.count }

    /// The (H_L, W_L) grid of the bottleneck and its state: the frame halved
    /// (rounding up) once per stage.
    public var bottleneckGrid: (height: Int, width: Int) {
        encoder.indices.reduce((frameHeight, frameWidth)) { grid, _ in ((grid.0 + 1) / 2, (grid.1 + 1) / 2) }
    }

    /// How each stage's maps are halved for the next.
    public var downsampling: UNetDownsampling { pooling == nil ? .stridedConvolution : .maxPooling }

    /// The activation of the hidden convolutions (the encoder's, the decoder's).
    public var hiddenActivation: Activation { encoder[0].activation }

    /// The activation of the prediction (the head's).
    public var outputActivation: Activation { head.activation }

    /// The gradients of every part, in ``Trainable/namedParameters`` order:
    /// `encoder.*`, `downsampling.*`, `bottleneck.*`, `decoder.*`, `head.*`.
    public struct Gradients: GradientSet, Equatable {
        /// One entry per encoder stage.
        public var encoder: [Conv2D.Gradients]
        /// One entry per stride-2 convolution (none with max pooling).
        public var downsampling: [Conv2D.Gradients]
        /// The bottleneck ConvLSTM2D's.
        public var bottleneck: ConvLSTM2D.Gradients
        /// One entry per decoder stage, `decoder[i]` of stage `i`.
        public var decoder: [UNetDecoderStage.Gradients]
        /// The head's kernel (1, 1, filters[0], C) and bias (C).
        public var head: Conv2D.Gradients

        public var tensors: [Tensor] {
            encoder.flatMap(\.tensors) + downsampling.flatMap(\.tensors) + bottleneck.tensors + decoder.flatMap { $0.up.tensors + $0.conv.tensors } + head.tensors
        }

        public mutating func zero() {
            for index in encoder.indices { encoder[index].zero() }
            for index in downsampling.indices { downsampling[index].zero() }
            bottleneck.zero()
            for index in decoder.indices {
                decoder[index].up.zero()
                decoder[index].conv.zero()
            }
            head.zero()
        }
    }
}

/// How a ``UNetForecaster`` halves each stage's feature maps for the next.
public enum UNetDownsampling: String, Sendable, Hashable, CaseIterable {
    /// 2 x 2 max pooling, padding same: no parameters (the U-Net's own).
    case maxPooling
    /// A learned 2 x 2 Conv2D of stride 2, padding same, with the hidden
    /// activation (an all-convolutional encoder; smooth with a smooth activation).
    case stridedConvolution
}

/// One stage of a ``UNetForecaster``'s decoder: the up-convolution of the
/// stage below and the convolution of it joined with the stage's skip.
public struct UNetDecoderStage: Sendable {
    /// 3 x 3, stride 2, padding same, ReLU: the stage below's maps (B, h, w, C')
    /// to (B, 2h, 2w, F), cropped to the skip's grid.
    public internal(set) var up: Conv2DTranspose
    /// 3 x 3, padding same, ReLU: the upsampled maps and the skip side by side
    /// (B, H_i, W_i, 2F) to the stage's output (B, H_i, W_i, F).
    public internal(set) var conv: Conv2D

    /// The up-convolution's and the convolution's gradients.
    public struct Gradients: Sendable, Equatable {
        /// The up-convolution's kernel and bias.
        public var up: Conv2DTranspose.Gradients
        /// The convolution's kernel and bias.
        public var conv: Conv2D.Gradients
    }
}

extension UNetForecaster: Trainable {
    /// `encoder.i.kernel`, `encoder.i.bias` per stage; with strided
    /// downsampling, `downsampling.i.kernel`, `downsampling.i.bias` per stage; `bottleneck.kernel`,
    /// `bottleneck.recurrent_kernel`, `bottleneck.bias`; `decoder.i.up.kernel`,
    /// `decoder.i.up.bias`, `decoder.i.conv.kernel`, `decoder.i.conv.bias` per
    /// stage; `head.kernel`, `head.bias`.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        encoder.enumerated().flatMap { prefixed("encoder.\($0)", $1.namedParameters) }
            + downsamplingConvolutions.enumerated().flatMap { prefixed("downsampling.\($0)", $1.namedParameters) }
            + prefixed("bottleneck", bottleneck.namedParameters)
            + decoder.enumerated().flatMap { index, stage in
                prefixed("decoder.\(index).up", stage.up.namedParameters) + prefixed("decoder.\(index).conv", stage.conv.namedParameters)
            }
            + prefixed("head", head.namedParameters)
    }

    public mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows {
        var offset = 0
        for index in encoder.indices { try visitLayer(&encoder[index], &offset, body) }
        for index in downsamplingConvolutions.indices { try visitLayer(&downsamplingConvolutions[index], &offset, body) }
        try visitLayer(&bottleneck, &offset, body)
        for index in decoder.indices {
            try visitLayer(&decoder[index].up, &offset, body)
            try visitLayer(&decoder[index].conv, &offset, body)
        }
        try visitLayer(&head, &offset, body)
    }

    public func zeroGradients() -> Gradients {
        Gradients(encoder: encoder.map { $0.zeroGradients() }, downsampling: downsamplingConvolutions.map { $0.zeroGradients() },
                  bottleneck: bottleneck.zeroGradients(),
                  decoder: decoder.map { .init(up: $0.up.zeroGradients(), conv: $0.conv.zeroGradients()) },
                  head: head.zeroGradients())
    }
}

/// Visits `layer`'s parameters with indices from `offset`, which moves past them.
private func visitLayer<L: Trainable>(_ layer: inout L, _ offset: inout Int, _ body: (Int, inout Tensor) throws -> Void) rethrows {
    var count = 0
    try layer.visitParameters { index, parameter in
        try body(offset + index, &parameter)
        count += 1
    }
    offset += count
}

/// Random symmetries of training windows: flips, a transpose and time
/// reversal, each drawn per window with probability 1/2 and applied to the
/// window's input frames and target frames alike (torchvision's and Keras's
/// `RandomFlip`, applied to a whole clip, as video training pipelines do).
///
/// With every spatial symmetry on, a square frame is seen in each of its 8
/// orientations (the dihedral group: each is one choice of the three); with
/// ``timeReversal`` as well, running backwards too: 16 draws per window,
/// each equally likely, seeded by the seed, the pass and the
/// window's number: the same window gets the same draw on every rank of a
/// data-parallel run, and a new one every pass.
///
/// They are only valid where the data has the symmetry: moving digits that
/// bounce off the walls do (flipped, transposed or run backwards they are
/// still digits bouncing off the walls); clouds driven by a prevailing
/// wind or a river's flow do not run backwards, and a satellite's frames
/// have a north. On a small series they are what keeps a large model from
/// memorizing it: the demo's FC-LSTM, 350 frames of moving digits, forecasts
/// below the mean frame at every step of 10 only with them (README).
///
/// ```swift
/// var options = TrainingOptions(epochs: 16, batchSize: 16, shuffleSeed: 1)
/// options.augmentation = .all           // flips, transpose, time reversal
/// ```
public struct WindowAugmentation: Sendable, Hashable {
    /// Mirror left and right (width reversed).
    public var horizontalFlip: Bool
    /// Mirror top and bottom (height reversed).
    public var verticalFlip: Bool
    /// Swap rows and columns (height and width): square frames only.
    public var transpose: Bool
    /// Run the window backwards: its input and target frames read as one
    /// sequence in reverse, split again into inputs and targets. Targets must
    /// be the frames that follow the inputs (``WindowTarget/shifted``,
    /// ``WindowTarget/nextFrames(count:)``, ``WindowTarget/frameAfter(steps:)``
    /// of 1 or the equivalent ``WindowTarget/offset(_:)``).
    public var timeReversal: Bool

    public init(horizontalFlip: Bool = false, verticalFlip: Bool = false, transpose: Bool = false,
                timeReversal: Bool = false) {
        (self.horizontalFlip, self.verticalFlip, self.transpose, self.timeReversal)
            = (horizontalFlip, verticalFlip, transpose, timeReversal)
    }

    /// No augmentation.
    public static let none = WindowAugmentation()
    /// Both flips, the transpose and time reversal: 16 draws per window.
    public static let all = WindowAugmentation(horizontalFlip: true, verticalFlip: true, transpose: true, timeReversal: true)

    /// Whether no symmetry is on.
    public var isNone: Bool { self == .none }

    /// The transform window `window` gets in pass `pass`: each symmetry that is
    /// on, independently with probability 1/2.
    public func draw(window: Int, pass: Int, seed: UInt64) -> WindowTransform {
        let mixed = SeededGenerator.passSeed(SeededGenerator.passSeed(seed ^ 0xA06D_E27A_0A5E_ED00, pass: pass), pass: window)
        var generator = SeededGenerator(seed: mixed)
        let bits = generator.next()
        return WindowTransform(horizontalFlip: horizontalFlip && bits & 1 != 0, verticalFlip: verticalFlip && bits & 2 != 0,
                               transpose: transpose && bits & 4 != 0, timeReversal: timeReversal && bits & 8 != 0)
    }

    /// Throws unless every window of `windows` can take these symmetries.
    ///
    /// - Throws: `invalidArgument` for a transpose of frames that are not
    ///   square, for time reversal of windows whose targets are not the frames
    ///   after their inputs, and for windows paired with rows of a targets array
    ///   or padded (neither is a sequence of frames).
    public func validate(for windows: FrameWindows) throws {
        guard !isNone else { return }
        guard windows.targetArray == nil else {
            throw FrameSequencingError.invalidArgument(
                name: "augmentation", expected: "windows whose targets are frames of the series",
                actual: "windows paired with rows of a targets array")
        }
        guard !windows.hasPadding else {
            throw FrameSequencingError.invalidArgument(name: "augmentation", expected: "windows without padding",
                                                       actual: "padded windows")
        }
        let frame = windows.frames.frameShape
        if transpose && frame.height != frame.width {
            throw FrameSequencingError.invalidArgument(
                name: "augmentation transpose", expected: "square frames",
                actual: "frames of \(frame.height) x \(frame.width) (drop the transpose or use the flips alone)")
        }
        if timeReversal && Self.reversibleTarget(windows.parameters) == nil {
            throw FrameSequencingError.invalidArgument(
                name: "augmentation time reversal",
                expected: "targets that follow the inputs (.shifted, .nextFrames, .frameAfter(steps: 1))",
                actual: "\(windows.parameters.target)")
        }
    }

    /// How a window's targets continue its inputs, for time reversal: `.shifted`
    /// or the number of frames after the inputs; nil when they do not.
    enum Continuation: Equatable { case shifted, following(Int) }

    static func reversibleTarget(_ parameters: WindowParameters) -> Continuation? {
        switch parameters.target {
        case .shifted: return .shifted
        case .nextFrames(let count): return .following(count)
        case .frameAfter(let steps) where steps == 1: return .following(1)
        case .offset(let offset) where offset == parameters.sequenceLength * parameters.samplingRate: return .following(1)
        default: return nil
        }
    }
}

/// The symmetries one window gets (``WindowAugmentation/draw(window:pass:seed:)``).
/// Spatially the frame is flipped horizontally, then vertically, then transposed:
/// output pixel `(y, x)` is input pixel `(y', x')` with `(y', x') = (x, y)` when
/// transposed, then `x' = W - 1 - x'` when flipped horizontally and
/// `y' = H - 1 - y'` when flipped vertically.
public struct WindowTransform: Sendable, Hashable {
    public var horizontalFlip: Bool
    public var verticalFlip: Bool
    public var transpose: Bool
    public var timeReversal: Bool

    public init(horizontalFlip: Bool = false, verticalFlip: Bool = false, transpose: Bool = false, timeReversal: Bool = false) {
        (self.horizontalFlip, self.verticalFlip, self.transpose, self.timeReversal)
            = (horizontalFlip, verticalFlip, transpose, timeReversal)
    }

    /// Whether it changes nothing.
    public var isIdentity: Bool { !horizontalFlip && !verticalFlip && !transpose && !timeReversal }

    /// Writes frame `source` (H, W, C) transformed into `destination` (W, H, C when
    /// transposed, which ``WindowAugmentation`` allows for square frames only).
    func apply(_ source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, frame: FrameShape) {
        let (height, width, channels) = (frame.height, frame.width, frame.channels)
        let (outHeight, outWidth) = transpose ? (width, height) : (height, width)
        for y in 0 ..< outHeight {
            for x in 0 ..< outWidth {
                var (sy, sx) = transpose ? (x, y) : (y, x)
                if horizontalFlip { sx = width - 1 - sx }
                if verticalFlip { sy = height - 1 - sy }
                let from = source + (sy * width + sx) * channels, to = destination + (y * outWidth + x) * channels
                to.update(from: from, count: channels)
            }
        }
    }
}

extension WindowBatch {
    /// Applies `augmentation` to every window of the batch in place, window `i`
    /// taking ``WindowAugmentation/draw(window:pass:seed:)`` for its window
    /// number (``windowIndices``): its input frames and target frames are
    /// flipped and transposed alike, and with time reversal read backwards as one
    /// sequence. `windows` are the windows the batch was filled from.
    ///
    /// - Throws: what ``WindowAugmentation/validate(for:)`` throws.
    public mutating func augment(_ augmentation: WindowAugmentation, of windows: FrameWindows, pass: Int, seed: UInt64) throws {
        guard !augmentation.isNone, count > 0 else { return }
        try augmentation.validate(for: windows)
        apply(windowIndices.map { augmentation.draw(window: $0, pass: pass, seed: seed) }, of: windows)
    }

    /// Applies `transforms[i]` to window `i` of the batch in place: its input
    /// and target frames flipped and transposed alike, and with time reversal
    /// read backwards as one sequence (the inputs, then the targets' frames
    /// after them) and split again. `windows` are the windows the batch was filled from.
    ///
    /// - Throws: `invalidArgument` for another number of transforms than windows,
    ///   and for a transform the windows cannot take (``WindowAugmentation/validate(for:)``).
    public mutating func transform(_ transforms: [WindowTransform], of windows: FrameWindows) throws {
        guard transforms.count == count else {
            throw FrameSequencingError.invalidArgument(name: "transforms", expected: "one per window of the batch (\(count))",
                                                       actual: "\(transforms.count)")
        }
        let needed = WindowAugmentation(horizontalFlip: transforms.contains { $0.horizontalFlip },
                                        verticalFlip: transforms.contains { $0.verticalFlip },
                                        transpose: transforms.contains { $0.transpose },
                                        timeReversal: transforms.contains { $0.timeReversal })
        guard !needed.isNone else { return }
        try needed.validate(for: windows)
        apply(transforms, of: windows)
    }

    /// ``transform(_:of:)`` once the windows are known to take `draws`.
    private mutating func apply(_ draws: [WindowTransform], of windows: FrameWindows) {
        let frame = windows.frames.frameShape, size = frame.featureCount
        let steps = windows.sequenceLength
        let continuation = WindowAugmentation.reversibleTarget(windows.parameters)
        let targetSteps = windows.targetSteps ?? 1
        let batch = count, timeMajor = layout == .timeMajor
        let targetsTimeMajor = targetsAreTimeMajor
        // One window's frames as one sequence, for time reversal: the inputs, then
        // the target frames that are not inputs too (a shifted target adds its last).
        var sequence = [Float](repeating: 0, count: continuation == nil ? 0 : (steps + targetSteps) * size)
        var transformed = [Float](repeating: 0, count: size)
        withMutableTensors { inputs, targets in
            inputs.withUnsafeMutableBufferPointer { input in
                func inputFrame(_ b: Int, _ t: Int) -> UnsafeMutablePointer<Float> {
                    input.baseAddress! + (timeMajor ? t * batch + b : b * steps + t) * size
                }
                func transformFrames(_ pointer: (Int) -> UnsafeMutablePointer<Float>, count: Int, _ draw: WindowTransform) {
                    transformed.withUnsafeMutableBufferPointer { scratch in
                        for t in 0 ..< count {
                            draw.apply(pointer(t), to: scratch.baseAddress!, frame: frame)
                            pointer(t).update(from: scratch.baseAddress!, count: size)
                        }
                    }
                }
                if var targetTensor = targets {
                    targets = nil   // keeps the storage uniquely referenced while writing
                    defer { targets = targetTensor }
                    targetTensor.withUnsafeMutableBufferPointer { target in
                        func targetFrame(_ b: Int, _ s: Int) -> UnsafeMutablePointer<Float> {
                            target.baseAddress! + (targetsTimeMajor ? s * batch + b : b * targetSteps + s) * size
                        }
                        for (b, draw) in draws.enumerated() where !draw.isIdentity {
                            var spatial = draw
                            spatial.timeReversal = false
                            if !spatial.isIdentity {
                                transformFrames({ inputFrame(b, $0) }, count: steps, spatial)
                                transformFrames({ targetFrame(b, $0) }, count: targetSteps, spatial)
                            }
                            guard draw.timeReversal, let continuation else { continue }
                            sequence.withUnsafeMutableBufferPointer { z in
                                let zs = z.baseAddress!
                                for t in 0 ..< steps { (zs + t * size).update(from: inputFrame(b, t), count: size) }
                                let total: Int
                                switch continuation {
                                case .shifted:
                                    (zs + steps * size).update(from: targetFrame(b, targetSteps - 1), count: size)
                                    total = steps + 1
                                case .following(let after):
                                    for s in 0 ..< after { (zs + (steps + s) * size).update(from: targetFrame(b, s), count: size) }
                                    total = steps + after
                                }
                                // Read backwards: position i holds frame total - 1 - i.
                                func reversed(_ i: Int) -> UnsafeMutablePointer<Float> { zs + (total - 1 - i) * size }
                                for t in 0 ..< steps { inputFrame(b, t).update(from: reversed(t), count: size) }
                                switch continuation {
                                case .shifted:
                                    for s in 0 ..< targetSteps { targetFrame(b, s).update(from: reversed(s + 1), count: size) }
                                case .following(let after):
                                    for s in 0 ..< after { targetFrame(b, s).update(from: reversed(steps + s), count: size) }
                                }
                            }
                        }
                    }
                } else {
                    // No targets, so no time reversal (validate refuses it): the flips alone.
                    for (b, draw) in draws.enumerated() where !draw.isIdentity {
                        transformFrames({ inputFrame(b, $0) }, count: steps, draw)
                    }
                }
            }
        }
    }
}

import FrameSequencing

/// `frameseq example`: the FrameSequencing steps on a built-in, seeded series,
/// printing each step's shapes.
struct ExampleCommand {
    static let help = """
    Usage: frameseq example [--frames N]

    Cuts a built-in series of moving-square frames (64x64x1) into windows, batches,
    targets and a chronological split, printing each step's shapes.

      --frames N   number of frames to generate (default 400)
    """

    var frameCount: Int

    init(_ arguments: [String]) throws {
        var options = try Arguments(arguments, flagNames: [])
        frameCount = try options.integer("frames", default: 400, in: 20 ... 1_000_000)
        try options.requireAllRead()
    }

    /// A bright 8x8 square moving across a dark 64x64 frame, bouncing off the edges.
    static func movingSquare(frames count: Int, seed: UInt64) throws -> FrameStack {
        var generator = SeededGenerator(seed: seed)
        var (x, y) = (generator.next(below: 56), generator.next(below: 56))
        var (dx, dy) = (1 + generator.next(below: 2), 1 + generator.next(below: 2))
        var bytes = [UInt8](repeating: 16, count: count * 64 * 64)
        for frame in 0 ..< count {
            for row in y ..< y + 8 { for column in x ..< x + 8 { bytes[frame * 4096 + row * 64 + column] = 240 } }
            if x + dx < 0 || x + dx > 56 { dx = -dx }
            if y + dy < 0 || y + dy > 56 { dy = -dy }
            x += dx
            y += dy
        }
        return try FrameStack(stacked: bytes, frameShape: FrameShape(height: 64, width: 64, channels: 1), scale: 1.0 / 255)
    }

    func run(_ console: Console) throws {
        let print = console.print
        let frames = try Self.movingSquare(frames: frameCount, seed: 7)
        print("frames:          \(frames.count) x \(frames.frameShape), stored as bytes")
        // Ten context frames: every test frame becomes the target of one 10-frame window.
        let split = try frames.split(testFraction: 0.125, testContext: 10)
        print("split:           \(split.train.count) train, \(split.testCount) test (+\(split.testContext) context frames)")
        let normalization = try Normalization.fit(split.train, method: .zScore)
        print("z-score:         mean \(normalization.center[0]), 1/std \(normalization.factor[0]) (fitted on train)")
        let train = try normalization.apply(to: split.train)

        let parameters = WindowParameters(sequenceLength: 10, target: .frameAfter(steps: 1))
        let windows = try train.windows(parameters)
        print("windows:         \(windows.count) of 10 frames, each paired with the next frame")
        let batches = try windows.batches(size: 16, shuffleSeed: 1)
        var batch = try batches.makeBuffer(layout: .spatial)
        try batches.fill(0, into: &batch)
        print("batch 0:         inputs \(batch.inputs.shape), targets \(batch.targets!.shape)")
        print("overlapping:     \(try frames.windows(.overlapping(length: 10, overlap: 5)).inputs().shape)")
        print("non-overlapping: \(try frames.windows(.nonOverlapping(length: 10)).inputs(layout: .timeMajor).shape)")
        print("rows as steps:   \(try frames.frame(at: 0).imageSequence(along: .rows).shape)")
        let test = try split.test.windows(parameters)
        print("test windows:    \(test.count), first target is frame \(test[0].targetFrameIndices.first! + split.train.count - split.testContext)")
    }
}

// Fuzz target: the windowing and padding parameter space.
//
// The first byte picks one of three parts; the rest of the bytes are read as
// decisions (FuzzInput): sizes, strides, rates, start and end indices, targets,
// short-window policies, layouts and batch sizes for FrameWindows and
// WindowBatches (this file); sequence lengths and padding options for
// padSequences and PaddedBatches, and window sizes for RollingWindow
// (windows+streams.swift).
//
// Each call is checked against a naive reference written from the documented
// formulas: the call must throw a FrameSequencingError exactly when the
// reference says the parameters are invalid or no window fits, and otherwise
// return the reference's count, frame indices, lengths, shapes and values.

@testable import FrameSequencingCore
@testable import FrameSequencingIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWindows(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : count)
    var input = FuzzInput(raw)
    switch input.byte() % 3 {
    case 0: fuzzFrameWindows(&input)
    case 1: fuzzPadding(&input)
    default: fuzzRollingWindow(&input)
    }
    return 0
}

// MARK: Frames whose values name them

/// Frames where every value says which frame and feature it is, so a copied
/// value shows where it was copied from: `k * 100 + j` for Float32 storage,
/// `k` for byte storage (bytes cannot hold the feature too).
struct NamedFrames {
    let stack: FrameStack
    let isBytes: Bool
    /// The absolute frame of `stack`'s frame 0 (a sub-range starts later).
    let first: Int

    func value(frame: Int, feature: Int) -> Float {
        isBytes ? Float(first + frame) : Float((first + frame) * 100 + feature)
    }

    static func make(_ input: inout FuzzInput) -> NamedFrames {
        // Mostly tiny frames; one side in eight is 8, so that some fills reach
        // parallelFillThreshold (2^16 values) and run on the worker pool.
        let side = { (input: inout FuzzInput) in [1, 2, 3, 1, 2, 3, 1, 8][input.int(in: 0 ... 7)] }
        let shape = try! FrameShape(height: side(&input), width: side(&input), channels: input.int(in: 1 ... 3))
        let total = input.int(in: 1 ... 48)
        let isBytes = input.bool()
        let f = shape.featureCount
        let stack = isBytes
            ? try! FrameStack(stacked: (0 ..< total * f).map { UInt8($0 / f) }, frameShape: shape)
            : try! FrameStack(stacked: (0 ..< total * f).map { Float($0 / f * 100 + $0 % f) }, frameShape: shape)
        // Sometimes a sub-range, to check that windows of a view read the view's frames.
        guard input.int(in: 0 ... 3) == 0 else { return NamedFrames(stack: stack, isBytes: isBytes, first: 0) }
        let lower = input.int(in: 0 ... total - 1)
        let upper = input.int(in: lower + 1 ... total)
        return NamedFrames(stack: try! stack.frames(lower ..< upper), isBytes: isBytes, first: lower)
    }
}

// MARK: The reference

/// What the documentation says windows over `n` frames with parameters `p` are:
/// `nil` when they must be refused.
struct ReferenceWindows {
    /// Frame indices of each window's valid timesteps.
    var frames: [[Int]] = []
    /// Target frame indices of each window (empty without a target).
    var targets: [[Int]] = []
    var fullCount = 0

    init?(_ p: WindowParameters, frameCount n: Int) {
        let (length, stride, rate) = (p.sequenceLength, p.sequenceStride, p.samplingRate)
        guard length > 0, stride > 0, rate > 0 else { return nil }
        let start = p.startIndex ?? 0, end = p.endIndex ?? n
        guard start >= 0, start < n, end > start, end <= n else { return nil }
        // A window's span must fit in the series even when the window is padded.
        guard case let (span, false) = (length - 1).multipliedReportingOverflow(by: rate), span < n else { return nil }
        var padValue: Float? = nil
        if case .padAndMask(let value) = p.shortWindows {
            guard p.target == .none else { return nil }
            padValue = value
        }
        // Whether the target of a window starting at `s` fits: its last frame below
        // `end` (`n` for `.offset`, as in Keras), computed without overflow.
        let targetFits: (Int) -> Bool
        let targetFrames: (Int) -> [Int]
        switch p.target {
        case .none:
            targetFits = { _ in true }
            targetFrames = { _ in [] }
        case .offset(let k):
            guard k >= 0 else { return nil }
            targetFits = { s in !s.addingReportingOverflow(k).overflow && s + k < n }
            targetFrames = { s in [s + k] }
        case .frameAfter(let k):
            guard k > 0 else { return nil }
            targetFits = { s in ReferenceWindows.frame(s, steps: length - 1, plus: k, rate: rate).map { $0 < end } ?? false }
            targetFrames = { s in [s + (length - 1 + k) * rate] }
        case .nextFrames(let k):
            guard k > 0 else { return nil }
            targetFits = { s in ReferenceWindows.frame(s, steps: length - 1, plus: k, rate: rate).map { $0 < end } ?? false }
            targetFrames = { s in (1 ... k).map { s + (length - 1 + $0) * rate } }
        case .shifted:
            targetFits = { s in ReferenceWindows.frame(s, steps: length - 1, plus: 1, rate: rate).map { $0 < end } ?? false }
            targetFrames = { s in (0 ..< length).map { s + ($0 + 1) * rate } }
        }
        // Full windows: every frame below `end`, every target frame below its limit.
        // Window starts in order; `nil` once the next start would pass Int.max.
        var next: Int? = start
        while let s = next, s < end, s + span < end, targetFits(s) {
            frames.append((0 ..< length).map { s + $0 * rate })
            targets.append(targetFrames(s))
            next = s.addingReportingOverflow(stride).overflow ? nil : s + stride
        }
        fullCount = frames.count
        // Padded windows: the fewest more needed to reach the last frame, none starting past it.
        if padValue != nil, frames.last.map({ $0.last! < end - 1 }) ?? true {
            while let s = next, s < end {
                frames.append((0 ..< length).map { s + $0 * rate }.filter { $0 < end })
                targets.append([])
                if s + span >= end - 1 { break }
                next = s.addingReportingOverflow(stride).overflow ? nil : s + stride
            }
        }
        guard !frames.isEmpty else { return nil }
    }

    /// `s + (steps + plus) * rate`, or `nil` when it overflows (then it fits nowhere).
    static func frame(_ s: Int, steps: Int, plus: Int, rate: Int) -> Int? {
        guard case let (count, false) = steps.addingReportingOverflow(plus),
              case let (offset, false) = count.multipliedReportingOverflow(by: rate),
              case let (frame, false) = s.addingReportingOverflow(offset) else { return nil }
        return frame
    }
}

// MARK: Windows and batches

func fuzzFrameWindows(_ input: inout FuzzInput) {
    let named = NamedFrames.make(&input)
    let n = named.stack.count
    let target: WindowTarget
    switch input.int(in: 0 ... 4) {
    case 0: target = .none
    case 1: target = .offset(input.parameter())
    case 2: target = .frameAfter(steps: input.parameter())
    case 3: target = .nextFrames(count: input.parameter())
    default: target = .shifted
    }
    let short: ShortWindowPolicy = input.int(in: 0 ... 2) == 0 ? .padAndMask(value: -Float(input.byte()) - 1) : .drop
    let length = input.parameter()
    var parameters: WindowParameters
    switch input.int(in: 0 ... 5) {
    case 0:
        let overlap = input.parameter()
        guard let made = refusingTyped("WindowParameters.overlapping", {
            try WindowParameters.overlapping(length: length, overlap: overlap, target: target, shortWindows: short)
        }) else {
            require(overlap < 0 || overlap >= length, "overlapping(length: \(length), overlap: \(overlap)) threw")
            return
        }
        require(made.sequenceStride == length - overlap, "overlapping stride \(made.sequenceStride)")
        parameters = made
    case 1:
        parameters = .nonOverlapping(length: length, target: target, shortWindows: short)
    default:
        parameters = WindowParameters(sequenceLength: length, sequenceStride: input.parameter(), samplingRate: input.parameter(),
                                      target: target, shortWindows: short)
    }
    if input.bool() { parameters.startIndex = input.parameter() }
    if input.bool() { parameters.endIndex = input.parameter() }

    let reference = ReferenceWindows(parameters, frameCount: n)
    let made = refusingTyped("FrameStack.windows", { try named.stack.windows(parameters) })
    guard let windows = made, let reference else {
        require(made == nil && reference == nil, "\(parameters) over \(n) frames: windows \(made.map { "\($0.count)" } ?? "threw"), "
                + "reference \(reference.map { "\($0.frames.count)" } ?? "refuses")")
        return
    }
    let p = "\(parameters) over \(n) frames"
    require(windows.count == reference.frames.count, "\(p): \(windows.count) windows, expected \(reference.frames.count)")
    require(windows.hasPadding == (reference.fullCount < windows.count), "\(p): hasPadding \(windows.hasPadding)")
    require(windows.hasTargets == (parameters.target != .none), "\(p): hasTargets \(windows.hasTargets)")
    require(windows.lengths == reference.frames.map(\.count), "\(p): lengths \(windows.lengths)")
    for (i, window) in windows.enumerated() {
        require(window.frameIndices == reference.frames[i], "\(p): window \(i) reads \(window.frameIndices)")
        require(window.targetFrameIndices == reference.targets[i], "\(p): window \(i) targets \(window.targetFrameIndices)")
    }
    let layout = [SequenceLayout.batchMajor, .timeMajor, .spatial][input.int(in: 0 ... 2)]
    let all = Array(windows.indices)
    if let inputs = refusingTyped("inputs", { try windows.inputs(layout: layout) }) {
        checkSequences(inputs, windows: all, reference: reference.frames, steps: windows.sequenceLength,
                       layout: layout, named: named, pad: padValue(parameters), what: "\(p): inputs")
    } else { fatalError("\(p): inputs threw") }
    if let targets = refusingTyped("targets", { try windows.targets(layout: layout) }) {
        require(windows.hasTargets == (targets != nil), "\(p): targets \(targets == nil ? "nil" : "present")")
        if let targets {
            checkTargets(targets, windows: all, reference: reference.targets, parameters: parameters,
                         layout: layout, named: named, what: "\(p): targets")
        }
    } else { fatalError("\(p): targets threw") }
    fuzzBatches(&input, windows: windows, reference: reference, layout: layout, named: named, what: p)
}

func padValue(_ parameters: WindowParameters) -> Float? {
    if case .padAndMask(let value) = parameters.shortWindows { return value }
    return nil
}

/// Checks batches of `windows`: how many, which windows each holds, and every
/// value a reused buffer is filled with.
func fuzzBatches(_ input: inout FuzzInput, windows: FrameWindows, reference: ReferenceWindows,
                 layout: SequenceLayout, named: NamedFrames, what: String) {
    let size = input.parameter()
    let seed: UInt64? = input.bool() ? input.uint64() : nil
    let keepShort = input.bool()
    var subset: Range<Int>? = nil
    if input.int(in: 0 ... 3) == 0 {
        let (a, b) = (input.parameter(), input.parameter())
        subset = min(a, b) ..< max(a, b)
    }
    let chosen = subset ?? windows.indices
    let expected: Int? = size <= 0 || chosen.lowerBound < 0 || chosen.upperBound > windows.count ? nil
        : keepShort ? (chosen.count == 0 ? 0 : (chosen.count - 1) / size + 1) : chosen.count / size
    let made = refusingTyped("batches", {
        try subset.map { try windows.batches(of: $0, size: size, shuffleSeed: seed, keepShortLastBatch: keepShort) }
            ?? windows.batches(size: size, shuffleSeed: seed, keepShortLastBatch: keepShort)
    })
    let p = "\(what), batches of \(size) of \(chosen) keeping short \(keepShort)"
    guard let batches = made, let expected, expected > 0 else {
        require(made == nil && (expected ?? 0) == 0, "\(p): \(made.map { "\($0.count)" } ?? "threw"), expected \(expected ?? 0)")
        return
    }
    require(batches.count == expected, "\(p): \(batches.count) batches, expected \(expected)")
    let members = batches.flatMap { $0 }
    require(Set(members).count == members.count && members.allSatisfy(chosen.contains), "\(p): batches hold \(members)")
    require(members.count == (keepShort ? chosen.count : expected * size), "\(p): \(members.count) windows in batches")
    if seed == nil { require(members == Array(chosen.prefix(members.count)), "\(p): unshuffled order \(members)") }
    guard var buffer = refusingTyped("makeBuffer", { try batches.makeBuffer(layout: layout) }) else {
        fatalError("\(p): makeBuffer threw")
    }
    for index in batches.indices {
        guard refusingTyped("fill", { try batches.fill(index, into: &buffer) }) != nil else { fatalError("\(p): fill \(index) threw") }
        let selected = Array(batches[index])
        require(buffer.windowIndices == selected && buffer.lengths == selected.map { reference.frames[$0].count },
                "\(p): batch \(index) holds \(buffer.windowIndices) with lengths \(buffer.lengths)")
        checkSequences(buffer.inputs, windows: selected, reference: reference.frames, steps: windows.sequenceLength,
                       layout: layout, named: named, pad: padValue(windows.parameters), what: "\(p): batch \(index) inputs")
        require((buffer.targets != nil) == windows.hasTargets, "\(p): batch \(index) targets")
        if let targets = buffer.targets {
            checkTargets(targets, windows: selected, reference: reference.targets, parameters: windows.parameters,
                         layout: layout, named: named, what: "\(p): batch \(index) targets")
        }
        require((buffer.mask != nil) == windows.hasPadding, "\(p): batch \(index) mask")
        if let mask = buffer.mask {
            let t = windows.sequenceLength
            let expectedMask = selected.flatMap { w in (0 ..< t).map { $0 < reference.frames[w].count ? Float(1) : 0 } }
            require(mask.dimensions == [selected.count, t] && mask.scalars == expectedMask, "\(p): batch \(index) mask")
        }
    }
    require(refusingTyped("fill past the end", { try batches.fill(batches.count, into: &buffer) }) == nil,
            "\(p): filling batch \(batches.count) did not throw")
}

/// Checks a (B, T, F), (T, B, F) or (B, T, H, W, C) tensor of the sequences
/// of `windows`: frame `reference[w][t]`, or `pad` past a window's valid steps.
func checkSequences(_ tensor: Tensor, windows: [Int], reference: [[Int]], steps: Int, layout: SequenceLayout,
                    named: NamedFrames, pad: Float?, what: String) {
    let shape = named.stack.frameShape
    let expectedShape = layout.shape(batch: windows.count, steps: steps, frame: shape)
    require(tensor.dimensions == expectedShape.dimensions, "\(what): shape \(tensor.dimensions), expected \(expectedShape.dimensions)")
    let f = shape.featureCount
    let values = tensor.scalars
    for (b, w) in windows.enumerated() {
        for t in 0 ..< steps {
            let at = layout == .timeMajor ? (t * windows.count + b) * f : (b * steps + t) * f
            for j in 0 ..< f {
                let expected = t < reference[w].count ? named.value(frame: reference[w][t], feature: j) : pad ?? .nan
                require(values[at + j] == expected, "\(what): window \(w) step \(t) feature \(j) is \(values[at + j]), expected \(expected)")
            }
        }
    }
}

/// Checks targets: sequences for `.nextFrames` and `.shifted`, single frames
/// ((B, F) or (B, H, W, C)) for `.offset` and `.frameAfter`.
func checkTargets(_ tensor: Tensor, windows: [Int], reference: [[Int]], parameters: WindowParameters,
                  layout: SequenceLayout, named: NamedFrames, what: String) {
    switch parameters.target {
    case .nextFrames, .shifted:
        checkSequences(tensor, windows: windows, reference: reference, steps: reference[windows.first ?? 0].count,
                       layout: layout, named: named, pad: nil, what: what)
    default:
        let shape = named.stack.frameShape
        let expectedShape = layout.shape(batch: windows.count, steps: nil, frame: shape)
        require(tensor.dimensions == expectedShape.dimensions, "\(what): shape \(tensor.dimensions)")
        let f = shape.featureCount
        let values = tensor.scalars
        for (b, w) in windows.enumerated() {
            for j in 0 ..< f {
                let expected = named.value(frame: reference[w][0], feature: j)
                require(values[b * f + j] == expected, "\(what): window \(w) feature \(j) is \(values[b * f + j]), expected \(expected)")
            }
        }
    }
}

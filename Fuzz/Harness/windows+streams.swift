// The padding and streaming parts of the windowing fuzz target: padSequences,
// PaddedBatches and RollingWindow, each against a naive reference.

@testable import FrameSequencingCore
@testable import FrameSequencingIO

/// The most bytes a case may legitimately allocate. Requests between this and
/// physical memory are valid but would only test the fuzzer's memory ceiling,
/// so such cases are skipped; requests above physical memory must be refused.
let legitimateBytes = 1 << 26

enum AllocationSize {
    case small, skip, mustRefuse
}

/// How `counts` Float32 tensors of the given element-count factors compare
/// with what may be allocated.
func allocationSize(_ factors: [Int]...) -> AllocationSize {
    var largest = 0
    for product in factors {
        guard let count = Shape(product).checkedElementCount,
              case let (bytes, false) = count.multipliedReportingOverflow(by: 4) else { return .mustRefuse }
        largest = max(largest, bytes)
    }
    if largest > FileReadLimits.default.maximumBytes { return .mustRefuse }
    return largest > legitimateBytes ? .skip : .small
}

// MARK: Padding

/// Sequence `s` step `t` feature `j` holds `s * 10000 + t * 100 + j`.
func namedSequence(_ s: Int, steps: Int, inner: [Int]) -> Tensor {
    let f = Shape(inner).checkedElementCount!
    return try! Tensor(shape: Shape([steps] + inner), scalars: (0 ..< steps * f).map { Float(s * 10000 + $0 / f * 100 + $0 % f) })
}

func fuzzPadding(_ input: inout FuzzInput) {
    let count = input.int(in: 0 ... 6)
    let inner = (0 ..< input.int(in: 0 ... 2)).map { _ in input.int(in: 1 ... 3) }
    var sequences: [Tensor] = []
    for s in 0 ..< count {
        let steps = input.int(in: 0 ... 12)
        switch input.int(in: 0 ... 15) {
        case 0: sequences.append(try! Tensor(shape: [], scalars: [Float(s)]))   // no time axis
        case 1: sequences.append(namedSequence(s, steps: steps, inner: inner + [2]))   // another step shape
        default: sequences.append(namedSequence(s, steps: steps, inner: inner))
        }
    }
    // Valid: at least one sequence, each with a time axis, the non-empty ones agreeing
    // after it (the first non-empty one's step shape is the result's, as in Keras).
    let nonEmpty = sequences.filter { $0.shape.rank >= 1 && $0.dimensions[0] > 0 }
    let stepShape = nonEmpty.first.map { Array($0.dimensions.dropFirst()) } ?? []
    var valid = count > 0 && sequences.allSatisfy { $0.shape.rank >= 1 }
        && nonEmpty.allSatisfy { Array($0.dimensions.dropFirst()) == stepShape }
    let length: PaddedLength = [.longest, .shortest, .fixed(input.parameter())][input.int(in: 0 ... 2)]
    if case .fixed(let n) = length, n <= 0 { valid = false }
    let padding: SequenceEnd = input.bool() ? .pre : .post
    let truncating: SequenceEnd = input.bool() ? .pre : .post
    let value = -Float(input.byte()) - 0.5

    let lengths = sequences.map { $0.dimensions.first ?? 0 }
    let p = "padSequences(\(sequences.map(\.dimensions)), \(length), padding \(padding), truncating \(truncating))"
    checkPadded(sequences, lengths: lengths, stepShape: stepShape, valid: valid, length: length,
                padding: padding, truncating: truncating, value: value, what: p) {
        try padSequences(sequences, length: length, padding: padding, truncating: truncating, value: value)
    }

    let size = input.parameter()
    let seed: UInt64? = input.bool() ? input.uint64() : nil
    let made = refusingTyped("PaddedBatches", {
        try PaddedBatches(sequences, size: size, length: length, padding: padding, truncating: truncating,
                          value: value, shuffleSeed: seed)
    })
    let q = "PaddedBatches(\(sequences.map(\.dimensions)), size \(size), \(length))"
    guard let batches = made, valid, size > 0 else {
        require(made == nil && !(valid && size > 0), "\(q): \(made == nil ? "threw" : "made")")
        return
    }
    require(batches.count == (count - 1) / size + 1, "\(q): \(batches.count) batches")
    require(batches.indices.flatMap { batches.members(of: $0) }.sorted() == Array(0 ..< count), "\(q): members")
    if seed == nil { require(batches.order == Array(0 ..< count), "\(q): unshuffled order \(batches.order)") }
    for index in batches.indices {
        let members = Array(batches.members(of: index))
        let chosen = members.map { sequences[$0] }
        let chosenNonEmpty = chosen.filter { $0.dimensions[0] > 0 }
        checkPadded(chosen, lengths: members.map { lengths[$0] },
                    stepShape: chosenNonEmpty.first.map { Array($0.dimensions.dropFirst()) } ?? [], valid: true,
                    length: length, padding: padding, truncating: truncating, value: value,
                    what: "\(q): batch \(index) of \(members)") { try batches.batch(index) }
    }
    require(refusingTyped("batch past the end", { try batches.batch(batches.count) }) == nil, "\(q): batch \(batches.count)")
}

/// Checks `pad()` against the reference: it throws when `valid` is false or the
/// result is too large for memory, and otherwise returns what Keras would.
func checkPadded(_ sequences: [Tensor], lengths: [Int], stepShape: [Int], valid: Bool, length: PaddedLength,
                 padding: SequenceEnd, truncating: SequenceEnd, value: Float, what: String,
                 _ pad: () throws -> PaddedSequences) {
    let target: Int
    switch length {
    case .longest: target = lengths.max() ?? 0
    case .shortest: target = lengths.min() ?? 0
    case .fixed(let n): target = n
    }
    let size = valid ? allocationSize([sequences.count, target] + stepShape, [sequences.count, target]) : .small
    if size == .skip { return }
    let result = refusingTyped(what, pad)
    guard let result, valid, size == .small else {
        require(result == nil && !(valid && size == .small), "\(what): \(result == nil ? "threw" : "returned"), expected "
                + (valid && size == .small ? "a result" : "an error"))
        return
    }
    let f = Shape(stepShape).checkedElementCount!
    require(result.values.dimensions == [sequences.count, target] + stepShape, "\(what): values \(result.values.dimensions)")
    require(result.mask.dimensions == [sequences.count, target], "\(what): mask \(result.mask.dimensions)")
    let kept = lengths.map { min($0, target) }
    require(result.lengths == kept, "\(what): lengths \(result.lengths), expected \(kept)")
    let values = result.values.scalars, mask = result.mask.scalars
    for (s, sequence) in sequences.enumerated() {
        let source = sequence.scalars
        let to = padding == .pre ? target - kept[s] : 0
        let from = truncating == .pre ? lengths[s] - kept[s] : 0
        for d in 0 ..< target {
            let isData = d >= to && d < to + kept[s]
            require(mask[s * target + d] == (isData ? 1 : 0), "\(what): mask of sequence \(s) step \(d)")
            for j in 0 ..< f {
                let expected = isData ? source[(from + d - to) * f + j] : value
                require(values[(s * target + d) * f + j] == expected,
                        "\(what): sequence \(s) step \(d) feature \(j) is \(values[(s * target + d) * f + j]), expected \(expected)")
            }
        }
    }
}

// MARK: Streaming

func fuzzRollingWindow(_ input: inout FuzzInput) {
    let shape = try! FrameShape(height: input.int(in: 1 ... 3), width: input.int(in: 1 ... 3), channels: input.int(in: 1 ... 3))
    let f = shape.featureCount
    let (length, rate) = (input.parameter(), input.parameter())
    let p = "RollingWindow(\(shape), sequenceLength: \(length), samplingRate: \(rate))"
    var capacity = 0
    var size = AllocationSize.mustRefuse
    if length > 0, rate > 0, case let (span, false) = (length - 1).multipliedReportingOverflow(by: rate),
       case let (frames, false) = span.addingReportingOverflow(1) {
        capacity = frames
        size = allocationSize([frames, f])
    }
    if size == .skip { return }
    let made = refusingTyped(p, { try RollingWindow(frameShape: shape, sequenceLength: length, samplingRate: rate) })
    guard var stream = made, size == .small else {
        require(made == nil && size != .small, "\(p): \(made == nil ? "threw" : "made"), expected "
                + (size == .small ? "a stream" : "an error"))
        return
    }
    var history: [[Float]] = []   // frames appended since the last reset, as Float32
    for step in 0 ..< input.int(in: 0 ... 40) {
        let values = (0 ..< f).map { Float(step * 100 + $0) }
        let before = stream.framesSeen
        switch input.int(in: 0 ... 15) {
        case 0:
            stream.reset()
            history = []
        case 1:
            require(refusingTyped("append", { try stream.append(values + [0]) }) == nil, "\(p): a frame of \(f + 1) values was taken")
        case 2:
            let other = try! Tensor(shape: [shape.height, shape.width * shape.channels, 1], scalars: values)
            require(other.dimensions == shape.shape.dimensions || refusingTyped("append", { try stream.append(other) }) == nil,
                    "\(p): a frame of shape \(other.dimensions) was taken")
        case 3 ... 6:
            let bytes = (0 ..< f).map { UInt8(truncatingIfNeeded: step * 7 + $0) }
            guard refusingTyped("append", { try stream.append(bytes, scale: 0.5) }) != nil else { fatalError("\(p): bytes append threw") }
            history.append(bytes.map { Float($0) * 0.5 })
        case 7 ... 10:
            guard refusingTyped("append", { try stream.append(try Tensor(shape: shape.shape, scalars: values)) }) != nil else {
                fatalError("\(p): tensor append threw")
            }
            history.append(values)
        default:
            guard refusingTyped("append", { try stream.append(values) }) != nil else { fatalError("\(p): append threw") }
            history.append(values)
        }
        require(stream.framesSeen == history.count, "\(p): framesSeen \(stream.framesSeen) after \(history.count) frames (was \(before))")
        require(stream.isFull == (history.count >= capacity), "\(p): isFull \(stream.isFull) after \(history.count) frames")
        let spatial = input.bool()
        guard let latest = refusingTyped("latest", { try stream.latest(spatial: spatial) }) else { fatalError("\(p): latest threw") }
        guard let latest else {
            require(!stream.isFull, "\(p): no window after \(history.count) frames")
            continue
        }
        let expectedShape = (spatial ? SequenceLayout.spatial : .batchMajor).shape(batch: 1, steps: length, frame: shape)
        require(latest.dimensions == expectedShape.dimensions, "\(p): latest has shape \(latest.dimensions)")
        let expected = (0 ..< length).flatMap { t in history[history.count - 1 - (length - 1 - t) * rate] }
        require(latest.scalars == expected, "\(p): latest window after \(history.count) frames")
    }
}

import FrameSequencing
import TestSupport

/// Suite `windows`: `keras.utils.timeseries_dataset_from_array`, exact. Targets
/// are later frames (`target_offset`) or, with metadata `targets` "array", the
/// rows of the case's `targets_array` (Fixtures/README.md).
enum WindowsSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        let frames = try FrameStack(stacked: fixture.tensor("frames"))
        let offset = try fixture.int("target_offset")
        let targetArray: Tensor?
        switch try fixture.string("targets") {
        case nil: targetArray = nil
        case "array":
            guard offset == nil else {
                throw FixtureError.badMetadata(fixture.path, "target_offset", "\(offset!) beside a targets array")
            }
            targetArray = try fixture.tensor("targets_array")
        case let other?: throw FixtureError.badMetadata(fixture.path, "targets", "\(other) (expected \"array\" or none)")
        }
        let parameters = WindowParameters(
            sequenceLength: try fixture.requiredInt("sequence_length"),
            sequenceStride: try fixture.int("sequence_stride") ?? 1,
            samplingRate: try fixture.int("sampling_rate") ?? 1,
            startIndex: try fixture.int("start_index"),
            endIndex: try fixture.int("end_index"),
            target: offset.map { .offset($0) } ?? .none)
        let windows = try targetArray.map { try frames.windows(parameters, targets: $0) } ?? frames.windows(parameters)

        let expected = try fixture.tensor("windows")
        let actual = try windows.inputs()
        try requireSameShape(fixture, "windows", expected: expected, actual: actual)
        var results = [compare("windows", actual: actual.scalars, expected: expected.scalars)]

        if offset != nil || targetArray != nil {
            let expectedTargets = try fixture.tensor("targets")
            guard let targets = try windows.targets() else { throw FixtureError.missingTensor("ours", "targets") }
            try requireSameShape(fixture, "targets", expected: expectedTargets, actual: targets)
            results.append(compare("targets", actual: targets.scalars, expected: expectedTargets.scalars))
        }
        return results
    }
}

/// Suite `pad_sequences`: `keras.utils.pad_sequences(dtype="float32")`, exact.
enum PadSequencesSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        let count = try fixture.requiredInt("count")
        let sequences = try (0 ..< count).map { try fixture.tensor("seq.\($0)") }
        let length: PaddedLength = try fixture.int("maxlen").map { .fixed($0) } ?? .longest
        func end(_ key: String) throws -> SequenceEnd {
            switch try fixture.string(key) ?? "pre" {
            case "pre": return .pre
            case "post": return .post
            case let other: throw FixtureError.badMetadata(fixture.path, key, other)
            }
        }
        let padded = try padSequences(
            sequences, length: length, padding: end("padding"), truncating: end("truncating"),
            value: try fixture.float("value") ?? 0)
        let expected = try fixture.tensor("padded")
        try requireSameShape(fixture, "padded", expected: expected, actual: padded.values)
        return [compare("padded", actual: padded.values.scalars, expected: expected.scalars)]
    }
}

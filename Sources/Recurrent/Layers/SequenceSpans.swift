import FrameSequencing

/// Where each sequence of a padded batch holds data: one run of valid
/// timesteps `[start, end)` per batch entry, padding before it (Keras's
/// `padding="pre"`), after it (`"post"`, PyTorch's packed sequences) or both.
/// Read from lengths (post-padding) or from a (B, T) mask.
struct SequenceSpans: Sendable, Equatable {
    let starts: [Int]
    let ends: [Int]
    let timesteps: Int

    var lengths: [Int] { zip(ends, starts).map { $0 - $1 } }
    /// Every sequence starts at step 0 (lengths describe it).
    var isPostPadded: Bool { starts.allSatisfy { $0 == 0 } }
    /// No step of any sequence is padding.
    var isFull: Bool { isPostPadded && ends.allSatisfy { $0 == timesteps } }

    init(starts: [Int], ends: [Int], timesteps: Int) {
        (self.starts, self.ends, self.timesteps) = (starts, ends, timesteps)
    }

    /// The spans a caller gave as `lengths` (valid steps first) or as a `mask`
    /// (B, T) of 0 (padding) and anything else (valid), for `batch` sequences
    /// of `timesteps`; nil when neither is given.
    ///
    /// - Throws: `invalidArgument` for both at once, lengths of another count or
    ///   outside `0...T`, a mask row whose valid steps are not one run (Keras
    ///   allows gaps; the package does not); `shapeMismatch` for a mask that is not (B, T).
    init?(lengths: [Int]?, mask: Tensor?, batch: Int, timesteps: Int, layer: String) throws {
        switch (lengths, mask) {
        case (nil, nil):
            return nil
        case (.some, .some):
            throw RecurrentError.invalidArgument(name: "\(layer) lengths and mask", expected: "one of the two",
                                                 actual: "both")
        case (let lengths?, nil):
            guard lengths.count == batch, lengths.allSatisfy({ $0 >= 0 && $0 <= timesteps }) else {
                throw RecurrentError.invalidArgument(
                    name: "lengths", expected: "\(batch) values in 0...\(timesteps)", actual: "\(lengths)")
            }
            self.init(starts: [Int](repeating: 0, count: batch), ends: lengths, timesteps: timesteps)
        case (nil, let mask?):
            try RecurrentError.requireShape(mask, [batch, timesteps], "\(layer) mask (batch, timesteps)")
            let values = mask.scalars
            var starts: [Int] = [], ends: [Int] = []
            for b in 0 ..< batch {
                let row = values[b * timesteps ..< (b + 1) * timesteps]
                let start = row.firstIndex { $0 != 0 }.map { $0 - row.startIndex } ?? 0
                let end = row.lastIndex { $0 != 0 }.map { $0 - row.startIndex + 1 } ?? 0
                guard row.dropFirst(start).prefix(end - start).allSatisfy({ $0 != 0 }) else {
                    throw RecurrentError.invalidArgument(
                        name: "\(layer) mask row \(b)",
                        expected: "one run of valid steps (padding before it, after it or both)",
                        actual: "\(Array(row)); split such a sequence, or drop the steps masked inside it")
                }
                starts.append(start)
                ends.append(end)
            }
            self.init(starts: starts, ends: ends, timesteps: timesteps)
        }
    }

    /// The same steps on the time axis read backwards (step t is T - 1 - t).
    func reversed() -> SequenceSpans {
        SequenceSpans(starts: ends.map { timesteps - $0 }, ends: starts.map { timesteps - $0 }, timesteps: timesteps)
    }
}

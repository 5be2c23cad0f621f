// The segments a recurrent time loop is cut into when a layer recomputes its
// training record in backward (``Recomputation/keepStatesEvery(_:)``): the
// training forward keeps the state at the start of each segment, and backward
// recomputes one segment's record at a time from it, latest segment first.
//
// Legend: T timesteps, k the interval, S = ceil(T / k) segments. Steps are
// processing steps s (input timestep T - 1 - s for a reversed layer).

/// Processing steps [j k, min(T, (j + 1) k)) for j in 0 ..< S.
struct TimeSegments {
    let timesteps: Int   // T
    let interval: Int    // k >= 1

    /// S = ceil(T / k).
    var count: Int { (timesteps + interval - 1) / interval }
    /// Steps of the longest segment, min(k, T): the steps a segment buffer holds.
    var longest: Int { min(interval, timesteps) }
    /// The processing steps of segment `j`.
    func steps(_ j: Int) -> Range<Int> { j * interval ..< min(timesteps, (j + 1) * interval) }
}

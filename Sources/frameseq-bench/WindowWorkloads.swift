import FrameSequencing

/// `window.*` workloads of `../shared/BENCHMARKS.md`.
enum WindowWorkloads {
    /// 50 frames 64x64x1, windows of 10 with overlap 5, materialized to (9, 10, 4096).
    static func overlap() -> Workload {
        Workload(name: "window.overlap.seed0", bytes: 9 * 10 * 4096 * 4) {
        var generator = SeededGenerator(seed: 0)
        let values = (0 ..< 50 * 4096).map { _ in generator.nextUnitFloat() }
        let frames = try FrameStack(stacked: values, frameShape: FrameShape(height: 64, width: 64, channels: 1))
        let windows = try frames.windows(.overlapping(length: 10, overlap: 5))
        return {
            let batch = try windows.inputs()
            precondition(batch.dimensions == [9, 10, 4096])
        }
        }
    }

    /// 400 (quick: 100) frames 785x785x3 stored as bytes, windows of 10 at stride 1,
    /// every batch of 8 filled as Float32 / 255 into one reused buffer.
    static func batches(quick: Bool) -> Workload {
        let frameCount = quick ? 100 : 400
        let featureCount = 785 * 785 * 3
        let windowCount = frameCount - 9
        return Workload(name: "window.batches.seed3", bytes: Double(windowCount * 10 * featureCount * 4)) {
            var generator = SeededGenerator(seed: 3)
            var bytes = [UInt8](repeating: 0, count: frameCount * featureCount)
            bytes.withUnsafeMutableBytes { raw in
                let words = raw.bindMemory(to: UInt64.self)
                for i in words.indices { words[i] = generator.next() }
            }
            let frames = try FrameStack(
                stacked: bytes, frameShape: FrameShape(height: 785, width: 785, channels: 3), scale: 1.0 / 255)
            let batches = try frames.windows(WindowParameters(sequenceLength: 10)).batches(size: 8)
            var buffer = try batches.makeBuffer()
            return {
                for index in batches.indices { try batches.fill(index, into: &buffer) }
            }
        }
    }
}

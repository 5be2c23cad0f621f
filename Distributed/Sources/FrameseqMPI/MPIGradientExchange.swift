import Dispatch
import FrameSequencing
import Recurrent

/// ``GradientExchange`` over MPI: each step's gradients, loss and failure
/// flags go through one in-place sum over every rank, as all-reduces of
/// buckets of ``bucketBytes`` (25 MiB by default, PyTorch DDP's
/// `bucket_cap_mb`), all in flight at once so the link stays busy.
///
/// Layout of the summed buffer: every gradient in ``Trainable/namedParameters``
/// order, scaled by the rank's share of the batch's windows, then the scaled
/// loss, then one flag per rank (1 where that rank's step failed). The buffer
/// and the combined tensors are made on the first step and reused: a step
/// allocates nothing here.
public final class MPIGradientExchange: GradientExchange, @unchecked Sendable {
    /// The job the ranks are in.
    public let world: MPIWorld
    /// Bytes per all-reduce.
    public let bucketBytes: Int
    public var rank: Int { world.rank }
    public var size: Int { world.size }
    private var buffer: [Float] = []
    private var combined: [Tensor] = []
    private var lossBuffer: [Float] = []
    /// Steps combined so far, and the seconds spent in their all-reduces
    /// (waiting for the slowest rank included).
    public private(set) var steps = 0, seconds = 0.0
    /// Bytes each step's all-reduce sums (0 before the first step).
    public var bytesPerStep: Int { buffer.count * 4 }

    /// An exchange over `world`.
    ///
    /// - Parameters:
    ///   - world: The job.
    ///   - bucketBytes: Bytes per all-reduce (at least 4).
    public init(world: MPIWorld, bucketBytes: Int = 25 << 20) {
        self.world = world
        self.bucketBytes = max(bucketBytes, 4)
    }

    public func combine(_ gradients: [Tensor], loss: Float, windows: Int, of total: Int, failed: Bool) throws -> CombinedStep {
        let weight = total > 0 ? Float(windows) / Float(total) : 0
        if gradients.isEmpty {   // validation: the losses alone, in a buffer of their own
            if lossBuffer.count != 1 + size { lossBuffer = [Float](repeating: 0, count: 1 + size) }
            for index in lossBuffer.indices { lossBuffer[index] = 0 }
            lossBuffer[0] = loss * weight
            if failed { lossBuffer[1 + rank] = 1 }
            try world.allReduceSum(&lossBuffer, bucket: lossBuffer.count, operation: "validation all-reduce")
            return CombinedStep(gradients: [], loss: lossBuffer[0], failedRanks: Self.failedRanks(in: lossBuffer, from: 1, size))
        }
        var scalars = 0, sameShapes = combined.count == gradients.count
        for (index, gradient) in gradients.enumerated() {
            scalars += gradient.count
            sameShapes = sameShapes && combined[index].dimensions == gradient.dimensions
        }
        if buffer.count != scalars + 1 + size || !sameShapes {
            buffer = [Float](repeating: 0, count: scalars + 1 + size)
            combined = try gradients.map { try Tensor(shape: $0.shape, repeating: 0) }
        }
        GradientBuffer.pack(gradients, scaledBy: weight, into: &buffer)
        for index in scalars ..< buffer.count { buffer[index] = 0 }
        buffer[scalars] = loss * weight
        if failed { buffer[scalars + 1 + rank] = 1 }
        let started = DispatchTime.now().uptimeNanoseconds
        try world.allReduceSum(&buffer, bucket: bucketBytes / 4)
        seconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        steps += 1
        GradientBuffer.unpack(buffer, into: &combined)
        return CombinedStep(gradients: combined, loss: buffer[scalars], failedRanks: Self.failedRanks(in: buffer, from: scalars + 1, size))
    }

    /// The ranks whose flag is set in `size` flags from `start` (allocates only when one is).
    private static func failedRanks(in buffer: [Float], from start: Int, _ size: Int) -> [Int] {
        var failed: [Int] = []
        for rank in 0 ..< size where buffer[start + rank] != 0 { failed.append(rank) }
        return failed
    }

    public func broadcastFromRankZero(_ bytes: [UInt8]) throws -> [UInt8] {
        try world.broadcastFromRankZero(bytes, operation: "broadcast of rank 0's model, optimizer and position")
    }
}

/// Copies between the tensors and the flat buffer the all-reduce sums.
enum GradientBuffer {
    /// `tensors`, each element times `weight`, one after another from the buffer's start.
    static func pack(_ tensors: [Tensor], scaledBy weight: Float, into buffer: inout [Float]) {
        buffer.withUnsafeMutableBufferPointer { flat in
            var offset = 0
            for tensor in tensors {
                tensor.withUnsafeBufferPointer { source in
                    for index in source.indices { flat[offset + index] = source[index] * weight }
                    offset += source.count
                }
            }
        }
    }

    /// The buffer's first elements back into `tensors`, in order.
    static func unpack(_ buffer: [Float], into tensors: inout [Tensor]) {
        buffer.withUnsafeBufferPointer { flat in
            var offset = 0
            for index in tensors.indices {
                tensors[index].withUnsafeMutableBufferPointer { destination in
                    for element in destination.indices { destination[element] = flat[offset + element] }
                    offset += destination.count
                }
            }
        }
    }
}

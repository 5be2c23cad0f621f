import Foundation
import Recurrent

/// The check every rank makes before training: all of them were started with
/// the same options and see the same frames (and checkpoint, when resuming),
/// so a job launched with a stale copy on one host is refused at once.
public enum StartCheck {
    /// What a rank reports: a hash of its arguments, the size and a hash of
    /// sampled bytes of its frames file (or folder listing), and the same of
    /// the checkpoint it resumes (zeros when there is none).
    public static func fingerprint(of arguments: [String]) throws -> [UInt64] {
        var hash = FNV1a()
        for argument in arguments { hash.add(Array(argument.utf8)); hash.add([0]) }
        var frames = option("--frames", in: arguments)
        var checkpoint: (size: UInt64, hash: UInt64) = (0, 0)
        if let directory = option("--resume", in: arguments) {
            let path = directory + "/checkpoint.safetensors"
            if FileManager.default.fileExists(atPath: path) {
                checkpoint = try sample(path)
                if frames == nil { frames = try? Checkpoint.read(contentsOf: path).metadata["train.frames"] }
            }
        }
        let seen: (size: UInt64, hash: UInt64) = try frames.map { try sample($0) } ?? (0, 0)
        return [hash.value, seen.size, seen.hash, checkpoint.size, checkpoint.hash]
    }

    /// Throws ``MPIError/mismatch(_:)`` naming every rank whose fingerprint
    /// differs from rank 0's, and how; every rank throws the same.
    public static func verify(_ fingerprints: [[UInt64]], arguments: [String]) throws {
        var problems: [String] = []
        for (rank, print) in fingerprints.enumerated().dropFirst() where print != fingerprints[0] {
            if print[0] != fingerprints[0][0] {
                problems.append("rank \(rank) was started with other options than rank 0")
            }
            if print[1 ... 2] != fingerprints[0][1 ... 2] {
                problems.append("rank \(rank) reads other frames than rank 0 (\(print[1]) bytes against \(fingerprints[0][1]))")
            }
            if print[3 ... 4] != fingerprints[0][3 ... 4] {
                problems.append("rank \(rank) resumes another checkpoint than rank 0 (\(print[3]) bytes against \(fingerprints[0][3]))")
            }
        }
        guard problems.isEmpty else {
            throw MPIError.mismatch(problems.joined(separator: "; ")
                + ": every rank must run the same command on the same files (a shared or identical copy)")
        }
    }

    static func option(_ name: String, in arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    /// The size and a hash of 64 blocks of 64 KiB spread over a file (all of
    /// it when smaller), or of a folder's sorted names and sizes.
    static func sample(_ path: String) throws -> (size: UInt64, hash: UInt64) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return (0, 0) }
        var hash = FNV1a()
        if isDirectory.boolValue {
            var total: UInt64 = 0
            for name in try FileManager.default.contentsOfDirectory(atPath: path).sorted() {
                let size = (try FileManager.default.attributesOfItem(atPath: path + "/" + name)[.size] as? NSNumber)?.uint64Value ?? 0
                hash.add(Array(name.utf8) + withUnsafeBytes(of: size.littleEndian, Array.init))
                total += size
            }
            return (total, hash.value)
        }
        guard let file = FileHandle(forReadingAtPath: path) else { return (0, 0) }
        defer { try? file.close() }
        let size = try file.seekToEnd()
        let block: UInt64 = 64 << 10, blocks: UInt64 = 64
        let offsets = size <= block * blocks
            ? [0] : (0 ..< blocks).map { $0 * ((size - block) / (blocks - 1)) }
        for offset in offsets {
            try file.seek(toOffset: offset)
            hash.add(Array(try file.read(upToCount: Int(size <= block * blocks ? size : block)) ?? Data()))
        }
        return (size, hash.value)
    }
}

/// 64-bit FNV-1a.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: [UInt8]) {
        for byte in bytes {
            value = (value ^ UInt64(byte)) &* 0x100_0000_01b3
        }
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The memory this process has used and may still use, for planning a run
/// before it allocates and for reporting what it took.
public enum ProcessMemory {
    /// The process's peak resident set size so far, in bytes.
    ///
    /// On Linux this is `VmHWM` from `/proc/self/status`: `getrusage`'s
    /// `ru_maxrss` carries over the high-water mark of the process that forked
    /// this one (a Python script holding its own data would be counted as ours).
    public static var peakResidentBytes: Int {
        #if os(Linux)
        if let kilobytes = statusField("VmHWM:", in: "/proc/self/status") { return kilobytes * 1024 }
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024
        #else
        var usage = rusage()
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #endif
    }

    /// The process's current resident set size, in bytes (0 where it cannot be read).
    public static var residentBytes: Int {
        #if os(Linux)
        return (statusField("VmRSS:", in: "/proc/self/status") ?? 0) * 1024
        #else
        return 0
        #endif
    }

    /// The memory the process can still take without pushing others out: on
    /// Linux the smaller of the system's `MemAvailable` and what the process's
    /// control group leaves (v2 `memory.max`, v1 `memory.limit_in_bytes`);
    /// elsewhere the physical memory.
    public static var availableBytes: Int {
        #if os(Linux)
        var available = (statusField("MemAvailable:", in: "/proc/meminfo") ?? 0) * 1024
        let group = cgroupValue(v2: "memory.max", v1: "memory.limit_in_bytes")
        let used = cgroupValue(v2: "memory.current", v1: "memory.usage_in_bytes")
        if let limit = group, let used, limit < Int.max / 2 {
            available = min(available > 0 ? available : Int.max, max(limit - used, 0))
        }
        if available > 0 { return available }
        #endif
        return FileReadLimits.physicalMemory.maximumBytes
    }

    /// The number after `key` in a `Key: value kB` file such as `/proc/self/status`.
    private static func statusField(_ key: String, in path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }

    /// A number from this process's memory control group: the v2 file `v2`,
    /// else the v1 memory controller's `v1` (nil for "max" or when there is none).
    private static func cgroupValue(v2: String, v1: String) -> Int? {
        guard let membership = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        let lines = membership.split(separator: "\n")
        var paths: [String] = []
        if let line = lines.first(where: { $0.hasPrefix("0::") }) { paths.append("/sys/fs/cgroup" + line.dropFirst(3) + "/" + v2) }
        if let line = lines.first(where: { $0.split(separator: ":").dropFirst().first == "memory" }),
           let group = line.split(separator: ":", maxSplits: 2).last {
            paths.append("/sys/fs/cgroup/memory" + group + "/" + v1)
        }
        for path in paths {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
               let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) { return value }
        }
        return nil
    }
}

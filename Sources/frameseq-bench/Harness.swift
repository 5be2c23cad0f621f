import Foundation
import FrameSequencing

/// One measured workload: a name, an optional one-time setup, and the timed body.
struct Workload {
    let name: String
    /// FLOPs of one timed call, when defined.
    var flops: Double? = nil
    /// Bytes moved by one timed call, when `gbps` is reported.
    var bytes: Double? = nil
    /// The micro-kernel path the workload ran.
    var kernels = "swift"
    /// More fields of the JSON line, from the median seconds (for example a
    /// projected epoch's seconds).
    var extraFields: (Double) -> [(String, Double)] = { _ in [] }
    /// Builds the inputs and returns the timed body (inputs are not timed).
    let prepare: () throws -> () throws -> Void
}

/// Times `workload` as `../shared/BENCHMARKS.md` specifies: one warm-up call, then at
/// least 5 runs and at least one second in all; prints one JSON line.
func run(_ workload: Workload) throws {
    let body = try workload.prepare()
    try body()   // warm-up
    var times: [Double] = []
    let started = DispatchTime.now().uptimeNanoseconds
    while times.count < 5 || Double(DispatchTime.now().uptimeNanoseconds - started) < 1e9 {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    times.sort()
    let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
    var fields: [(String, String)] = [
        ("name", "\"\(workload.name)\""), ("median_s", format(median)), ("min_s", format(times[0])),
        ("runs", "\(times.count)"),
    ]
    fields.append(("gflops", workload.flops.map { format($0 / median / 1e9) } ?? "null"))
    fields.append(("gbps", workload.bytes.map { format($0 / median / 1e9) } ?? "null"))
    fields.append(("peak_rss_mb", format(peakResidentMegabytes())))
    fields.append(("kernels", "\"\(workload.kernels)\""))
    fields.append(("cpu", jsonString(cpuModelName)))
    fields.append(("isa", "\"\(vectorExtension(kernels: workload.kernels))\""))
    fields += workload.extraFields(median).map { ($0.0, format($0.1)) }
    print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    fflush(nil)  // flush every stream: the JSON line must appear before a long next workload
}

private func format(_ value: Double) -> String { String(format: "%.6g", value) }

/// `value` as a JSON string literal (quotes, backslashes and control characters escaped).
private func jsonString(_ value: String) -> String {
    var out = "\""
    for scalar in value.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// The widest vector extension a workload ran: its C kernels' (`avx512`,
/// `avx2`), or for Swift code the build's baseline, which a default build
/// does not raise (`sse2` on x86-64, `neon` on arm64).
func vectorExtension(kernels: String) -> String {
    switch kernels {
    case "avx512", "avx2": return kernels
    default:
        #if arch(x86_64)
        return "sse2"
        #elseif arch(arm64)
        return "neon"
        #else
        return "scalar"
        #endif
    }
}

/// The processor's model name: `model name` in /proc/cpuinfo on Linux (its
/// first processor), `machdep.cpu.brand_string` on macOS; "unknown" elsewhere.
let cpuModelName: String = {
    #if os(Linux)
    if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
       let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
       let colon = line.firstIndex(of: ":") {
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return "unknown"
    #elseif os(macOS)
    var size = 0
    guard sysctlbyname("machdep.cpu.brand_string", nil, &size, nil, 0) == 0, size > 0 else { return "unknown" }
    var bytes = [CChar](repeating: 0, count: size)
    guard sysctlbyname("machdep.cpu.brand_string", &bytes, &size, nil, 0) == 0 else { return "unknown" }
    return String(cString: bytes)
    #else
    return "unknown"
    #endif
}()

/// The process's peak resident set size so far, in MB.
func peakResidentMegabytes() -> Double {
    Double(ProcessMemory.peakResidentBytes) / (1024 * 1024)
}

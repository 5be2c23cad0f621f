import Foundation

// frameseq-bench: the workloads of ../shared/BENCHMARKS.md, one JSON line each.
// Usage: frameseq-bench [--only PREFIX] [--quick] [--list]

var only: String? = nil
var quick = false
var listOnly = false
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--only":
        guard let prefix = arguments.next() else {
            FileHandle.standardError.write("frameseq-bench: --only needs a workload name prefix\n".data(using: .utf8)!)
            exit(2)
        }
        only = prefix
    case "--quick": quick = true
    case "--list": listOnly = true
    case "--help", "-h":
        print("""
        Usage: frameseq-bench [--only PREFIX] [--quick] [--list]
          --only PREFIX  run the workloads whose name starts with PREFIX
          --quick        shrink the large data set so the whole run stays under a minute
          --list         print the workload names and exit
        Prints one JSON line per workload: name, median_s, min_s, runs, gflops, gbps, peak_rss_mb, kernels,
        cpu (the processor's model name), isa (the widest vector extension the workload ran).
        """)
        exit(0)
    default:
        FileHandle.standardError.write("frameseq-bench: unknown argument '\(argument)' (try --help)\n".data(using: .utf8)!)
        exit(2)
    }
}

let workloads: [Workload] = [
    WindowWorkloads.overlap(),
    WindowWorkloads.batches(quick: quick),
    GEMMWorkloads.square1024(),
] + LSTMWorkloads.all() + GRUWorkloads.all() + ModelWorkloads.cnnLSTM() + ConvLSTMWorkloads.all() + [TrainingWorkloads.seed3(quick: quick)]
    + GEMMWorkloads.fmaPeak()
let selected = workloads.filter { only == nil || $0.name.hasPrefix(only!) }
if selected.isEmpty {
    FileHandle.standardError.write("frameseq-bench: no workload starts with '\(only ?? "")'\n".data(using: .utf8)!)
    exit(2)
}
for workload in selected {
    if listOnly { print(workload.name); continue }
    do {
        try run(workload)
    } catch {
        FileHandle.standardError.write("frameseq-bench: \(workload.name) failed: \(error)\n".data(using: .utf8)!)
        exit(1)
    }
}

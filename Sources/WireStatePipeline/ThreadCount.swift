#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `--threads` means when it is not given: the cores this process may run on, capped.
///
/// Why not simply the cores: the reading thread reads, decodes, hands each segment over and
/// merges the workers' events, about a third of a one-thread run by profile (docs/performance.md),
/// so the speed-up cannot pass about 3× whatever the count, and each worker adds its batches and
/// queues (about 15 MiB at 2 threads on the benchmark file). Measured on 2 cores, two threads
/// (reader and one worker sharing them with the kernel) were slower than one (docs/scaling.md):
/// so up to 2 cores the default is 1, from 3 cores it is the cores, at most `cap`.
public enum ThreadCount {
    public static let cap = 8

    /// The default for `cores` usable cores.
    public static func `default`(cores: Int) -> Int {
        cores <= 2 ? 1 : min(cores, cap)
    }

    /// The default on this machine.
    public static var machineDefault: Int { self.default(cores: usableCores) }

    /// Cores this process may run on: its CPU affinity mask (taskset, cpusets; /proc/self/status), else the online
    /// count; at least 1.
    public static var usableCores: Int {
        #if os(Linux)
            // `sched_getaffinity` needs _GNU_SOURCE, which Swift's Glibc module lacks; the kernel
            // prints the same mask in /proc/self/status ("Cpus_allowed:\t3" or "ff,ffffffff").
            if let f = fopen("/proc/self/status", "r") {
                defer { fclose(f) }
                var line = [CChar](repeating: 0, count: 4096)
                while fgets(&line, Int32(line.count), f) != nil {
                    let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    guard text.hasPrefix("Cpus_allowed:") else { continue }
                    let n = text.dropFirst("Cpus_allowed:".count).reduce(0) { n, c in
                        n + (c.hexDigitValue?.nonzeroBitCount ?? 0)
                    }
                    if n > 0 { return n }
                    break
                }
            }
        #endif
        return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }
}

#if canImport(Glibc)
    import Glibc
#endif

/// With worker threads, fixes glibc's malloc thresholds before anything large is allocated.
///
/// Why: glibc raises its mmap threshold to the size of any mmapped block that is freed (up to
/// 32 MiB), and its trim threshold to twice that. With `--threads 2` each worker's flow table grows
/// by doubling to tens of megabytes; once an old buffer was freed, glibc kept up to 64 MiB of freed
/// memory instead of returning it: `analyze --format jsonl --threads 2` on the benchmark's 1M
/// packets peaked at 122 MiB against 77 with one thread. Fixed at 256 KiB (mmap) and 8 MiB
/// (trim): 90 MiB, wall time within the noise. Not with one thread: there the dynamic thresholds
/// cost no memory to speak of (77 against 75 MiB) and fixing them cost 2-3% of JSON Lines' time.
///
/// The mmap threshold must stay below one block of the flow table's connections (`BlockStore`:
/// 1,024 × 1,008 bytes), so that blocks are mapped and unmapped whole. It was 1 MiB, just under
/// the blocks of 1,056-byte connections; when packing made them 1,008 bytes, a block fell under
/// it, into the workers' arenas, where freed blocks stayed (JSON Lines `--threads 2` on 10M
/// packets: 99 → 126 MiB; 95 at 256 KiB).
/// Measured in docs/performance.md.
///
/// Looked up at run time (`mallopt` is glibc's, and Swift's Glibc module does not declare it):
/// another C library is left as it is.
enum MallocTuning {
    static let mmapThreshold: Int32 = 256 << 10
    static let trimThreshold: Int32 = 8 << 20

    static func apply(threads: Int) {
        guard threads > 1 else { return }
        #if canImport(Glibc)
            // glibc's malloc.h: M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3.
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
            _ = mallopt(-3, mmapThreshold)
            _ = mallopt(-1, trimThreshold)
        #endif
    }
}

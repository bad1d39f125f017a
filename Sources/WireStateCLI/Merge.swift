import ArgumentParser
import WireStateCapture
import WireStateReport

/// `wirestate merge`: the JSON Lines of the N runs `analyze --format jsonl --shard K/N` of one
/// input, joined into exactly what `analyze --format jsonl` prints for that input (`ShardMerge`).
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join the JSON Lines of N shard runs into exactly what one run prints.",
        discussion: "Give the outputs of `analyze --format jsonl --shard 1/N` … `--shard N/N` of the same "
            + "inputs, in any order (compressed files are read too). Connection numbers, record order and "
            + "the summary come out as one run's. Every shard must be there, each once; a file that is not "
            + "a shard run's output, or a shard of other inputs, is an error naming the file and line. "
            + "Each file is read twice, so standard input cannot be one. See docs/scaling.md."
    )

    @Argument(help: "The shard runs' JSON Lines files.")
    var files: [String] = []

    func validate() throws {
        if files.isEmpty { throw ValidationError("give the JSON Lines files of the shard runs") }
        if files.contains("-") { throw ValidationError("standard input cannot be merged: each file is read twice") }
    }

    func run() throws {
        if let failure = mergeAll() {
            var place = failure.file
            if let line = failure.line { place += ":\(line)" }
            Diagnostics.error(place + ": " + failure.message)
            throw ExitCode(2)
        }
    }

    /// Both passes; the failure that stopped them, if any.
    func mergeAll() -> ShardMerge.Failure? {
        var merge = ShardMerge()
        do {
            for path in files { try merge.index(path, try ShardLines(path)) }
            try merge.finishIndex()
            var readers: [ShardLines] = []
            for path in merge.shardNames { readers.append(try ShardLines(path)) }
            for name in merge.evictions {
                Diagnostics.note(
                    "warning: \(name) evicted connections (--max-connections reached): the merge is not what one run prints")
            }
            var out = StandardOutput()
            try merge.merge(readers, into: &out)
            return nil
        } catch {
            return error
        }
    }
}

/// A shard file's lines for `ShardMerge`, read errors named after the file.
struct ShardLines: LineReading {
    let lines: TextLines

    init(_ path: String) throws(ShardMerge.Failure) {
        do { lines = try TextLines(path) } catch { throw ShardMerge.Failure(file: path, line: nil, message: error.message) }
    }

    func nextLine() throws(ShardMerge.Failure) -> [UInt8]? {
        do { return try lines.next() } catch { throw ShardMerge.Failure(file: lines.name, line: nil, message: error.message) }
    }
}

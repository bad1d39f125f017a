#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import WireStateDecoder
import WireStatePipeline
import WireStateTracker

/// What a `--shard` run adds to its JSON Lines so that `wirestate merge` can rebuild one run's
/// output (docs/scaling.md):
///
/// - every event record (`connection`, `transition`, `confirmation`, `anomaly`) ends with
///   `"merge_key":[step,phase,deadline,created]`: its `EventOrder` and the step that created its
///   connection;
/// - the `summary` record ends with `"merge_key":{"shard":"K/N","ids":"shard"}` (`"ids":"file"`
///   when `--filter` made the ids the file's own, which are already one run's).
public enum MergeKey {
    public struct Run: Sendable, Equatable {
        public var shard: Shard
        /// The ids are already one run's (a `--filter` run numbers connections in file order).
        public var fileIDs: Bool

        public init(shard: Shard, fileIDs: Bool) {
            self.shard = shard
            self.fileIDs = fileIDs
        }

        var json: String { "{\"shard\":\"\(shard)\",\"ids\":\"\(fileIDs ? "file" : "shard")\"}" }
    }
}

/// The fields of one JSON Lines record, read without a general JSON parser: records are the
/// writer's own, flat, and a member key cannot occur unescaped inside a string, so `,"key":` is
/// found by a byte search (the first member, `type`, is at a fixed place).
struct RecordFields {
    let line: [UInt8]

    var type: Substring? {
        let prefix = Array("{\"type\":\"".utf8)
        guard line.starts(with: prefix), let end = line[prefix.count...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return Substring(decoding: line[prefix.count..<end], as: UTF8.self)
    }

    /// Where the value of member `key` starts (after `,"key":`), the last occurrence if `last`.
    func valueStart(_ key: String, last: Bool = false) -> Int? {
        let needle = Array((",\"" + key + "\":").utf8)
        let n = needle.count
        guard line.count >= n else { return nil }
        return line.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { pin in
                func at(_ i: Int) -> Bool { hay[i] == UInt8(ascii: ",") && memcmp(hay.baseAddress! + i, pin.baseAddress!, n) == 0 }
                if last {
                    var i = hay.count - n
                    while i >= 0 {
                        if at(i) { return i + n }
                        i -= 1
                    }
                } else {
                    for i in 0...(hay.count - n) where at(i) { return i + n }
                }
                return nil
            }
        }
    }

    /// The raw value of `key`: a number, `null`, a string's contents (without escapes: the names
    /// and addresses read here need none), or an object's text.
    func raw(_ key: String) -> ArraySlice<UInt8>? {
        guard let start = valueStart(key), start < line.count else { return nil }
        if line[start] == UInt8(ascii: "\"") {
            guard let end = line[(start + 1)...].firstIndex(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }),
                line[end] == UInt8(ascii: "\"")
            else { return nil }
            return line[(start + 1)..<end]
        }
        if line[start] == UInt8(ascii: "{") {
            guard let end = line[start...].firstIndex(of: UInt8(ascii: "}")) else { return nil }
            return line[start...end]
        }
        let end = line[start...].firstIndex(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "}") || $0 == UInt8(ascii: "]") }) ?? line.count
        return line[start..<end]
    }

    func string(_ key: String) -> String? { raw(key).map { String(decoding: $0, as: UTF8.self) } }

    func integer(_ key: String) -> Int64? { raw(key).flatMap { Int64(String(decoding: $0, as: UTF8.self)) } }

    func unsigned(_ key: String) -> UInt64? { raw(key).flatMap { UInt64(String(decoding: $0, as: UTF8.self)) } }

    /// `null` is nil; a missing or bad value is `.none` too, told apart by `has`.
    func optionalInteger(_ key: String) -> Int64?? {
        guard let r = raw(key) else { return .none }
        if r.elementsEqual("null".utf8) { return .some(nil) }
        return Int64(String(decoding: r, as: UTF8.self)).map { .some($0) } ?? .none
    }

    /// `{"ESTABLISHED":12,…}` as the state times of `role`.
    func stateTimes(_ key: String, _ role: Role, into times: inout StateTimes) -> Bool {
        guard let r = raw(key), r.first == UInt8(ascii: "{"), r.last == UInt8(ascii: "}") else { return false }
        let body = String(decoding: r.dropFirst().dropLast(), as: UTF8.self)
        if body.isEmpty { return true }
        for member in body.split(separator: ",") {
            let parts = member.split(separator: ":")
            guard parts.count == 2, parts[0].count >= 2, let v = Int64(parts[1]),
                let state = TCPState.allCases.first(where: { "\"\($0.name)\"" == parts[0] })
            else { return false }
            times[role, state] = v
        }
        return true
    }

    /// The event key at the end of an event record.
    var mergeKey: EventOrder? {
        guard let start = valueStart("merge_key", last: true), start < line.count, line[start] == UInt8(ascii: "["),
            let end = line[start...].firstIndex(of: UInt8(ascii: "]"))
        else { return nil }
        let parts = String(decoding: line[(start + 1)..<end], as: UTF8.self).split(separator: ",")
        guard parts.count == 4, let step = UInt64(parts[0]), let p = UInt8(parts[1]), let phase = EventOrder.Phase(rawValue: p),
            let deadline = Int64(parts[2]), let created = UInt64(parts[3])
        else { return nil }
        return EventOrder(step: step, phase: phase, deadline: deadline, created: created)
    }

    /// The summary's run key.
    var runKey: MergeKey.Run? {
        guard let start = valueStart("merge_key", last: true), start < line.count, line[start] == UInt8(ascii: "{") else { return nil }
        // Its members, each found as `,"name":` like a record's.
        let key = RecordFields(line: [UInt8(ascii: ",")] + line[(start + 1)...])
        guard let shard = key.string("shard").flatMap(Shard.init), let ids = key.string("ids"), ids == "shard" || ids == "file"
        else { return nil }
        return MergeKey.Run(shard: shard, fileIDs: ids == "file")
    }

    /// The record with its connection number replaced and its merge key taken out.
    func rewritten(id: UInt64?) -> [UInt8] {
        var out = line
        if let cut = valueStart("merge_key", last: true) {
            out.removeSubrange((cut - ",\"merge_key\":".utf8.count)...)
            out.append(UInt8(ascii: "}"))
        }
        guard let id else { return out }
        let key = type == "connection" ? "id" : "connection"
        guard let start = RecordFields(line: out).valueStart(key) else { return out }
        let end = out[start...].firstIndex(where: { !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) ?? out.count
        out.replaceSubrange(start..<end, with: Array(String(id).utf8))
        return out
    }
}

/// Lines of a text file, one at a time, without their newline (nil at the end).
public protocol LineReading {
    func nextLine() throws(ShardMerge.Failure) -> [UInt8]?
}

/// `wirestate merge`: the JSON Lines of the N runs `--shard 1/N` … `N/N` of one input, joined into
/// exactly what one run over that input prints (docs/scaling.md; `ShardTests`, `MergeTests`).
///
/// Two passes over the shard files. The first (`index`) checks that they are the N shards of one
/// input and reads, from every `connection` record, its shard's number and the step that created
/// it; one run numbers connections in order of creation, so ranking the creation steps of all
/// shards gives every connection its one-run number. The second (`merge`) interleaves the event
/// records by merge key (each shard's records are already in that order), renumbers them, takes
/// the keys out, and recomputes the summary from the merged records as one run computes it.
/// Memory: 16 bytes per connection of the input, not per record.
public struct ShardMerge {
    public struct Failure: Error, Sendable {
        public var file: String
        /// The line (from 1), when one is to blame.
        public var line: Int?
        public var message: String

        public init(file: String, line: Int?, message: String) {
            self.file = file
            self.line = line
            self.message = message
        }
    }

    struct ShardFile {
        var name: String
        var run: MergeKey.Run
        /// By the shard's connection number (from 1): the step that created it.
        var created: [UInt64]
        var inputs: [[UInt8]]
        var summary: [UInt8]
        /// By the shard's connection number: the one-run number (filled by `finishIndex`).
        var ids: [UInt64] = []
    }

    var files: [ShardFile] = []

    /// A shard's next event record in `merge`, with its key and line number.
    struct Head {
        var key: EventOrder
        var shard: Int
        var line: [UInt8]
        var number: Int
    }
    /// Whether some shard evicted connections (a cap was reached): the merge is then not one run's.
    public private(set) var evictions: [String] = []

    public init() {}

    /// Pass 1 over one shard file, its lines given one at a time by `lines` (nil at the end).
    public mutating func index<Lines: LineReading>(_ name: String, _ lines: Lines) throws(Failure) {
        var reported: [(id: UInt64, created: UInt64)] = []
        var inputs: [[UInt8]] = []
        var summary: (line: [UInt8], run: MergeKey.Run)?
        var number = 0
        func fail(_ message: String) -> Failure { Failure(file: name, line: number, message: message) }
        while let line = try lines.nextLine() {
            number += 1
            if line.isEmpty { continue }
            let r = RecordFields(line: line)
            if line.last != UInt8(ascii: "}") { throw fail("an incomplete record (is the file cut short?)") }
            if summary != nil { throw fail("a record after the summary: a shard run's output ends with its summary") }
            switch r.type {
            case "input":
                inputs.append(line)
            case "summary":
                guard let run = r.runKey else {
                    throw fail("the summary has no merge key: not the output of 'analyze --format jsonl --shard K/N'")
                }
                summary = (line, run)
            case "connection":
                guard let key = r.mergeKey, let id = r.unsigned("id"), id >= 1, id <= 1 << 40 else {
                    throw fail("a connection record without a merge key or id: not the output of 'analyze --shard'")
                }
                reported.append((id, key.created))
                if r.string("end") == "evicted", !evictions.contains(name) { evictions.append(name) }
            case "transition", "confirmation", "anomaly":
                guard r.mergeKey != nil else {
                    throw fail("a \(r.type ?? "") record without a merge key: not the output of 'analyze --shard'")
                }
            default:
                throw fail("not a WireState JSON Lines record")
            }
        }
        guard let summary else {
            throw Failure(file: name, line: nil, message: "no summary record: the shard run did not finish")
        }
        // A shard numbers its connections 1, 2, … in order of creation; a `--filter` run's numbers
        // are the file's own already, and only their creation steps are kept.
        var created: [UInt64] = []
        if summary.run.fileIDs {
            created = reported.map { $0.created &+ 1 }
        } else {
            created = Array(repeating: 0, count: reported.count)
            for (id, step) in reported {
                guard id <= reported.count else {
                    throw Failure(file: name, line: nil, message: "connection \(id) of \(reported.count): some connection records are missing")
                }
                guard created[Int(id) - 1] == 0 else { throw Failure(file: name, line: nil, message: "connection \(id) is reported twice") }
                created[Int(id) - 1] = step &+ 1  // 0 stays "not seen"
            }
        }
        files.append(ShardFile(name: name, run: summary.run, created: created, inputs: inputs, summary: summary.line))
    }

    /// After every `index`: checks that the files are the N shards of one input, and numbers the
    /// connections as one run does.
    public mutating func finishIndex() throws(Failure) {
        guard let first = files.first else { throw Failure(file: "-", line: nil, message: "no shard files given") }
        let n = first.run.shard.count
        for (i, f) in files.enumerated() {
            if let other = files[..<i].first(where: { $0.run.shard == f.run.shard }) {
                throw Failure(file: f.name, line: nil, message: "shard \(f.run.shard) is given twice (also \(other.name))")
            }
            if f.run.shard.count != n {
                throw Failure(file: f.name, line: nil, message: "shard \(f.run.shard), but \(first.name) is shard \(first.run.shard)")
            }
            if f.run.fileIDs != first.run.fileIDs {
                throw Failure(file: f.name, line: nil, message: "run with a different --filter from \(first.name)'s")
            }
            if f.inputs != first.inputs || Self.counters(f.summary) != Self.counters(first.summary) {
                throw Failure(file: f.name, line: nil, message: "not a shard of the same input as \(first.name) (its input records differ)")
            }
            if !f.run.fileIDs, zip(f.created, f.created.dropFirst()).contains(where: { $0 >= $1 }) {
                throw Failure(file: f.name, line: nil, message: "connections are not numbered in order of creation")
            }
        }
        let missing = (1...n).filter { k in !files.contains { $0.run.shard.index == k } }
        if !missing.isEmpty {
            let list = missing.prefix(8).map { "\($0)/\(n)" }.joined(separator: ", ") + (missing.count > 8 ? ", …" : "")
            throw Failure(file: first.name, line: nil, message: "missing shard\(missing.count == 1 ? "" : "s") \(list) of \(n)")
        }
        files.sort { $0.run.shard.index < $1.run.shard.index }
        if first.run.fileIDs { return }
        var all = files.flatMap(\.created)
        all.sort()
        if zip(all, all.dropFirst()).contains(where: { $0 == $1 }) {
            throw Failure(file: first.name, line: nil, message: "two connections of different shards were created by one segment")
        }
        for i in files.indices {
            files[i].ids = files[i].created.map { c in UInt64(Self.lowerBound(all, c) + 1) }
        }
    }

    static func lowerBound(_ a: [UInt64], _ v: UInt64) -> Int {
        var lo = 0, hi = a.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if a[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The decode counters of a summary: every shard decodes every frame, so they must agree.
    static func counters(_ summary: [UInt8]) -> ArraySlice<UInt8> {
        let r = RecordFields(line: summary)
        guard let from = r.valueStart("frames"), let to = r.valueStart("evicted"), from <= to else { return summary[...] }
        return summary[from..<to]
    }

    /// The shard files in shard order (open them in this order for `merge`).
    public var shardNames: [String] { files.map(\.name) }

    /// Pass 2: `readers[k]` gives the lines of `shardNames[k]` again, from the start.
    public func merge<Lines: LineReading, Out: TextSink>(_ readers: [Lines], into out: inout Out) throws(Failure) {
        precondition(readers.count == files.count)
        var summary = RunSummary()
        var connections = 0, anomalies = 0, evicted = 0
        // Each shard's next event record and its key; a binary heap by key, then shard.
        var numbers = Array(repeating: 0, count: files.count)
        func read(_ k: Int) throws(Failure) -> Head? {
            while let line = try readers[k].nextLine() {
                numbers[k] += 1
                let r = RecordFields(line: line)
                guard let t = r.type, t != "input", t != "summary" else { continue }
                guard let key = r.mergeKey else {
                    throw Failure(file: files[k].name, line: numbers[k], message: "a record without a merge key (the file changed since it was read)")
                }
                return Head(key: key, shard: k, line: line, number: numbers[k])
            }
            return nil
        }
        func before(_ a: Head, _ b: Head) -> Bool {
            EventOrder.precedes(a.key, b.key) || (!EventOrder.precedes(b.key, a.key) && a.shard < b.shard)
        }
        var heap: [Head] = []
        func push(_ h: Head) {
            heap.append(h)
            var i = heap.count - 1
            while i > 0, before(heap[i], heap[(i - 1) / 2]) {
                heap.swapAt(i, (i - 1) / 2)
                i = (i - 1) / 2
            }
        }
        func pop() -> Head {
            let top = heap[0]
            heap.swapAt(0, heap.count - 1)
            heap.removeLast()
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, before(heap[l], heap[m]) { m = l }
                if r < heap.count, before(heap[r], heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
            return top
        }
        for k in files.indices { if let h = try read(k) { push(h) } }
        while !heap.isEmpty {
            let h = pop()
            let r = RecordFields(line: h.line)
            let file = files[h.shard]
            func fail(_ m: String) -> Failure { Failure(file: file.name, line: h.number, message: m) }
            let local = r.type == "connection" ? r.unsigned("id") : r.unsigned("connection")
            var id: UInt64? = nil
            if !file.run.fileIDs {
                guard let local, local >= 1, local <= file.ids.count else { throw fail("a record of a connection the file does not report") }
                id = file.ids[Int(local) - 1]
            }
            var line = r.rewritten(id: id)
            switch r.type {
            case "connection":
                connections += 1
                if r.string("end") == "evicted" { evicted += 1 }
                try add(r, to: &summary, fail)
            case "anomaly":
                anomalies += 1
                guard let code = r.string("code"), let severity = r.string("severity") else { throw fail("an anomaly record without code or severity") }
                summary.add(anomaly: code, severity: severity)
            default:
                break
            }
            line.append(UInt8(ascii: "\n"))
            out.write(utf8: line)
            if let n = try read(h.shard) { push(n) }
        }
        for line in files[0].inputs { out.write(utf8: line + [UInt8(ascii: "\n")]) }
        out.write(utf8: Self.summaryLine(files[0].summary, connections: connections, anomalies: anomalies, evicted: evicted, summary))
        out.flush()
    }

    /// A `connection` record into the run's summary, as `JSONLinesWriter` adds the connection.
    private func add(_ r: RecordFields, to summary: inout RunSummary, _ fail: (String) -> Failure) throws(Failure) {
        var times = StateTimes()
        guard let cs = r.string("client_state"), let ss = r.string("server_state"), let reset = r.string("reset_by"),
            let zeek = r.string("zeek_conn_state"),
            let b1 = r.unsigned("bytes_client_to_server"), let b2 = r.unsigned("bytes_server_to_client"),
            let p1 = r.unsigned("packets_client_to_server"), let p2 = r.unsigned("packets_server_to_client"),
            let client = r.string("client_ip").flatMap(IPAddress.init), let server = r.string("server_ip").flatMap(IPAddress.init),
            case .some(let synSynAck) = r.optionalInteger("syn_to_synack_ns"),
            case .some(let synAckAck) = r.optionalInteger("synack_to_ack_ns"),
            case .some(let rtt) = r.optionalInteger("handshake_rtt_ns"),
            r.stateTimes("client_state_ns", .client, into: &times), r.stateTimes("server_state_ns", .server, into: &times)
        else { throw fail("a connection record without the fields the summary needs") }
        summary.add(
            clientState: cs, serverState: ss, resetBy: reset, zeekState: zeek, times: times, synToSynAck: synSynAck,
            synAckToAck: synAckAck, handshakeRTT: rtt, bytes: b1 &+ b2, packets: p1 &+ p2, client: client, server: server)
    }

    /// One run's summary: the first shard's decode counters (every shard's are the same) with
    /// the merged counts and the recomputed overview.
    static func summaryLine(_ shardSummary: [UInt8], connections: Int, anomalies: Int, evicted: Int, _ summary: RunSummary) -> [UInt8] {
        let r = RecordFields(line: shardSummary)
        guard let frames = r.valueStart("frames"), let evictedAt = r.valueStart("evicted"),
            let overview = r.valueStart("final_states"), evictedAt < overview
        else { return shardSummary }
        let afterEvicted = shardSummary[evictedAt...].firstIndex(where: { !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) ?? evictedAt
        let schema = JSONLinesWriter<StringSink>.schemaVersion
        var s = Array(
            "{\"type\":\"summary\",\"schema\":\(schema),\"connections\":\(connections),\"anomalies\":\(anomalies),\"frames\":".utf8)
        s += shardSummary[frames..<evictedAt]
        s += Array(String(evicted).utf8)
        s += shardSummary[afterEvicted..<(overview - ",\"final_states\":".utf8.count)]
        s += Array(("," + summary.jsonMembers() + "}\n").utf8)
        return s
    }
}

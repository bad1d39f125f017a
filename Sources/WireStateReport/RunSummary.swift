import WireStateDecoder
import WireStateTracker

/// The run's closing overview (issue 11, item 4): final state pairs, anomalies by code and by
/// severity, handshake round-trip percentiles, time per state, resets by side, top talkers.
/// Fed one finished connection (with its state times) and one anomaly at a time, by `analyze`'s
/// text report and by the JSON Lines `summary` record alike, so both say the same.
public struct RunSummary: Sendable {
    public private(set) var connections = 0
    /// (client state, server state) → connections ending so.
    public var finalStates: [String: Int] {
        var d = named.finalStates
        for c in TCPState.allCases {
            for s in TCPState.allCases {
                let n = counted.finalStates[Int(c.rawValue) * Counted.states + Int(s.rawValue)]
                if n > 0 { d[c.name + "/" + s.name, default: 0] += n }
            }
        }
        return d
    }
    public var anomaliesByCode: [String: Int] { Self.merged(named.anomaliesByCode, counted.anomaliesByCode, AnomalyCode.self) { $0.code } }
    public var anomaliesBySeverity: [String: Int] { Self.merged(named.anomaliesBySeverity, counted.anomaliesBySeverity, Severity.self) { $0.name } }
    public var resetsBy: [String: Int] {
        var d = named.resetsBy
        for r in Role.allCases { d[r.name, default: 0] += counted.resetsBy[Int(r.rawValue)] }
        d["none", default: 0] += counted.resetsBy[2]
        return d
    }
    public var zeekStates: [String: Int] { Self.merged(named.zeekStates, counted.zeekStates, ZeekConnState.self) { $0.name } }

    /// What finished connections and anomalies from the tracker count, by the enums' raw values:
    /// an array increment each, where the names as dictionary keys cost a string concatenation
    /// and three or four String hashes per connection (3,500 instructions, 5% of the text
    /// report). `wirestate merge` feeds names (`named`); the public dictionaries add both.
    struct Counted: Sendable {
        static let states = TCPState.allCases.count
        var finalStates = [Int](repeating: 0, count: states * states)
        var resetsBy = [0, 0, 0]  // client, server, none
        var zeekStates = [Int](repeating: 0, count: 256)
        var anomaliesByCode = [Int](repeating: 0, count: 256)
        var anomaliesBySeverity = [Int](repeating: 0, count: 256)
    }
    private var counted = Counted()
    private var named = Named()
    struct Named: Sendable {
        var finalStates: [String: Int] = [:]
        var anomaliesByCode: [String: Int] = [:]
        var anomaliesBySeverity: [String: Int] = [:]
        var resetsBy: [String: Int] = ["client": 0, "server": 0, "none": 0]
        var zeekStates: [String: Int] = [:]
    }

    /// `names` with each case's count (by raw value) added under its spelling.
    static func merged<E: CaseIterable & RawRepresentable>(
        _ names: [String: Int], _ counts: [Int], _: E.Type, _ spelling: (E) -> String
    ) -> [String: Int] where E.RawValue == UInt8 {
        var d = names
        for e in E.allCases where counts[Int(e.rawValue)] > 0 { d[spelling(e), default: 0] += counts[Int(e.rawValue)] }
        return d
    }
    /// Summed time per state, per role.
    public private(set) var stateTime = StateTimes()
    /// Handshake times (ns), for their percentiles: bounded (`Samples`).
    public private(set) var synToSynAck = Samples()
    public private(set) var synAckToAck = Samples()
    public private(set) var handshake = Samples()
    public static let sampleLimit = Samples.limit

    /// Samples of one handshake time: every one up to `limit`, then a uniform sample of `limit`
    /// of them (reservoir sampling, Algorithm R), so that memory stays flat on a long capture or
    /// an endless live run. The generator has a fixed seed: the same connections finishing in
    /// the same order give the same percentiles (one run, `--threads`, `wirestate merge`).
    /// Percentiles are exact up to `limit` samples; `count` is always every sample seen.
    public struct Samples: Sendable {
        public static let limit = 100_000
        public private(set) var values: [Int64] = []
        public private(set) var count = 0
        private var state: UInt64 = 0

        public init() {}

        public mutating func add(_ v: Int64) {
            count += 1
            if values.count < Self.limit {
                values.append(v)
                return
            }
            // SplitMix64.
            state = state &+ 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let j = Int(z % UInt64(count))
            if j < Self.limit { values[j] = v }
        }
    }
    struct Talker { var bytes: UInt64 = 0, packets: UInt64 = 0, connections = 0 }
    /// Per address, for the top talkers: bounded, so that memory does not grow with the number
    /// of addresses a capture or an endless live run shows (a fresh client address per
    /// connection is one entry per finished connection). When it reaches `2 · talkerLimit`
    /// entries, only the `talkerLimit` that carried the most bytes are kept (ties: packets, then
    /// address). Exact while a run shows fewer addresses; beyond, an address pruned early that
    /// grows later into the top five would be undercounted. Deterministic in the order
    /// connections finish, so `wirestate merge`, which adds them in one run's order, agrees.
    private var talkers: [IPAddress: Talker] = [:]
    static let talkerLimit = 10_000

    public init() {}

    /// Adds time an endpoint spent in a state to the run's total (the text report counts it as
    /// each state is left, instead of keeping every open connection's `StateTimes`). Saturating,
    /// and never negative: totals are the same in any order the pieces arrive in.
    @inline(__always)
    public mutating func addStateTime(_ role: Role, _ state: TCPState, _ nanos: Int64) {
        stateTime[role, state] = CaptureTime.adding(max(0, nanos), to: stateTime[role, state])
    }

    /// `times`: the connection's time in each state, nil when they were counted as they came
    /// (`addStateTime`).
    public mutating func add(_ c: ConnectionSummary, times: StateTimes?) {
        counted.finalStates[Int(c.clientState.rawValue) * Counted.states + Int(c.serverState.rawValue)] += 1
        counted.resetsBy[c.facts.resetBy.map { Int($0.rawValue) } ?? 2] += 1
        counted.zeekStates[Int(c.facts.zeek.connState.rawValue)] += 1
        addMeasures(
            times: times, synToSynAck: c.facts.synToSynAck, synAckToAck: c.facts.synAckToAck,
            handshakeRTT: c.facts.handshakeRTT, bytes: c.bytesFromClient + c.bytesFromServer,
            packets: c.packetsFromClient + c.packetsFromServer, client: c.client.address, server: c.server.address)
    }

    /// One finished connection as its `connection` record states it: what `wirestate merge`
    /// feeds, so that a merged summary is computed exactly as one run's.
    public mutating func add(
        clientState: String, serverState: String, resetBy: String, zeekState: String, times: StateTimes?,
        synToSynAck: Int64?, synAckToAck: Int64?, handshakeRTT: Int64?, bytes: UInt64, packets: UInt64,
        client: IPAddress, server: IPAddress
    ) {
        named.finalStates[clientState + "/" + serverState, default: 0] += 1
        named.resetsBy[resetBy, default: 0] += 1
        named.zeekStates[zeekState, default: 0] += 1
        addMeasures(
            times: times, synToSynAck: synToSynAck, synAckToAck: synAckToAck, handshakeRTT: handshakeRTT,
            bytes: bytes, packets: packets, client: client, server: server)
    }

    /// What both kinds of input add alike: the connection, its state times, handshake samples
    /// and talkers.
    private mutating func addMeasures(
        times: StateTimes?, synToSynAck: Int64?, synAckToAck: Int64?, handshakeRTT: Int64?, bytes: UInt64,
        packets: UInt64, client: IPAddress, server: IPAddress
    ) {
        connections += 1
        if let times { stateTime.add(times) }
        if let v = synToSynAck { self.synToSynAck.add(v) }
        if let v = synAckToAck { self.synAckToAck.add(v) }
        if let v = handshakeRTT { handshake.add(v) }
        // One lookup per address, and no array of the two (an allocation per connection).
        Self.count(&talkers[client, default: Talker()], bytes: bytes, packets: packets)
        if server != client { Self.count(&talkers[server, default: Talker()], bytes: bytes, packets: packets) }
        if talkers.count >= 2 * Self.talkerLimit { pruneTalkers() }
    }

    @inline(__always)
    private static func count(_ t: inout Talker, bytes: UInt64, packets: UInt64) {
        t.bytes += bytes
        t.packets += packets
        t.connections += 1
    }

    private mutating func pruneTalkers() {
        let kept = topTalkers(Self.talkerLimit)
        talkers = Dictionary(
            uniqueKeysWithValues: kept.map { ($0.address, Talker(bytes: $0.bytes, packets: $0.packets, connections: $0.connections)) })
    }

    /// Addresses held for the top talkers now (tests: bounded).
    var talkersHeld: Int { talkers.count }

    public mutating func add(_ a: Anomaly) {
        counted.anomaliesByCode[Int(a.code.rawValue)] += 1
        counted.anomaliesBySeverity[Int(a.severity.rawValue)] += 1
    }

    public mutating func add(anomaly code: String, severity: String) {
        named.anomaliesByCode[code, default: 0] += 1
        named.anomaliesBySeverity[severity, default: 0] += 1
    }

    /// Nearest-rank percentile (p in 0…100) of `samples`; nil when there are none.
    public static func percentile(_ samples: [Int64], _ p: Int) -> Int64? {
        percentile(sorted: samples.sorted(), p)
    }

    /// `percentile` of samples already in ascending order (the renderings sort once for all three).
    static func percentile(sorted: [Int64], _ p: Int) -> Int64? {
        guard !sorted.isEmpty else { return nil }
        let rank = max(1, Int((Double(p) / 100 * Double(sorted.count)).rounded(.up)))
        return sorted[min(rank, sorted.count) - 1]
    }

    public static let percentiles = [50, 90, 99]

    /// Addresses by bytes carried (then packets, then address), at most `limit`.
    public func topTalkers(_ limit: Int = 5) -> [(address: IPAddress, bytes: UInt64, packets: UInt64, connections: Int)] {
        talkers.map { ($0.key, $0.value.bytes, $0.value.packets, $0.value.connections) }
            .sorted { ($1.1, $1.2, $0.0) < ($0.1, $0.2, $1.0) }
            .prefix(limit).map { $0 }
    }

    /// Keys sorted by count (descending), then name: stable output.
    static func ranked(_ d: [String: Int]) -> [(String, Int)] {
        d.filter { $0.value > 0 }.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
    }

    // MARK: Renderings

    /// The JSON members of the `summary` record (without braces), after the existing counts.
    public func jsonMembers() -> String {
        func object(_ d: [String: Int]) -> String {
            "{" + Self.ranked(d).map { Format.json($0.0) + ":\($0.1)" }.joined(separator: ",") + "}"
        }
        func pct(_ samples: Samples) -> String {
            let sorted = samples.values.sorted()
            return "{\"count\":\(samples.count)"
                + Self.percentiles.map { p in
                    ",\"p\(p)_ns\":" + (Self.percentile(sorted: sorted, p).map(String.init) ?? "null")
                }.joined() + "}"
        }
        func times(_ role: Role) -> String {
            "{"
                + TCPState.allCases.filter { stateTime[role, $0] > 0 }
                .map { "\"\($0.name)\":\(stateTime[role, $0])" }.joined(separator: ",") + "}"
        }
        var s = "\"final_states\":" + object(finalStates)
        s += ",\"anomalies_by_code\":" + object(anomaliesByCode)
        s += ",\"anomalies_by_severity\":" + object(anomaliesBySeverity)
        s += ",\"resets_by\":{\"client\":\(resetsBy["client"] ?? 0),\"server\":\(resetsBy["server"] ?? 0),\"none\":\(resetsBy["none"] ?? 0)}"
        s += ",\"zeek_conn_states\":" + object(zeekStates)
        s +=
            ",\"handshake\":{\"syn_to_synack\":" + pct(synToSynAck) + ",\"synack_to_ack\":" + pct(synAckToAck)
            + ",\"total\":" + pct(handshake) + "}"
        s += ",\"client_state_ns\":" + times(.client) + ",\"server_state_ns\":" + times(.server)
        s +=
            ",\"top_talkers\":["
            + topTalkers().map {
                "{\"address\":" + Format.json($0.address.description) + ",\"bytes\":\($0.bytes),\"packets\":\($0.packets),\"connections\":\($0.connections)}"
            }.joined(separator: ",") + "]"
        return s
    }

    /// The `Summary:` block `analyze` prints after its totals.
    public func text() -> String {
        guard connections > 0 else { return "" }
        var out = "Summary:\n"
        // Final state pairs are the "End states" line just above it.
        out += "  Zeek conn_state: " + Self.ranked(zeekStates).map { "\($0.0) ×\($0.1)" }.joined(separator: ", ") + "\n"
        out += "  resets by: client \(resetsBy["client"] ?? 0), server \(resetsBy["server"] ?? 0), none \(resetsBy["none"] ?? 0)\n"
        if !anomaliesByCode.isEmpty {
            out += "  anomalies by severity: " + Self.ranked(anomaliesBySeverity).map { "\($0.0) \($0.1)" }.joined(separator: ", ") + "\n"
            out += "  anomalies by code: " + Self.ranked(anomaliesByCode).map { "\($0.0) \($0.1)" }.joined(separator: ", ") + "\n"
        }
        func pct(_ name: String, _ samples: Samples) -> String {
            guard !samples.values.isEmpty else { return "" }
            let sorted = samples.values.sorted()
            return "  \(name) (\(samples.count)): "
                + Self.percentiles.map { "p\($0) " + Format.duration(Self.percentile(sorted: sorted, $0)!) }
                .joined(separator: ", ") + "\n"
        }
        out += pct("handshake SYN→SYN+ACK", synToSynAck) + pct("handshake SYN+ACK→ACK", synAckToAck)
        for role in Role.allCases {
            let spent = TCPState.allCases.filter { stateTime[role, $0] > 0 && $0 != .closed }
            if spent.isEmpty { continue }
            out +=
                "  time in state, \(role.name)s: "
                + spent.map { "\($0.name) " + Format.duration(stateTime[role, $0]) }
                .joined(separator: ", ") + "\n"
        }
        let top = topTalkers()
        if !top.isEmpty {
            out +=
                "  top talkers: "
                + top.map { "\($0.address) \($0.bytes) B / \($0.packets) pkts / \($0.connections) conn" }
                .joined(separator: ", ") + "\n"
        }
        return out
    }
}

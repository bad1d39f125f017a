import Foundation
import Testing
import WireStateDecoder
import WireStateTracker
import WireStatePipeline

@testable import WireStateReport

/// The run summary (issue 11, item 4): the text block and the JSON `summary` record come from the
/// same `RunSummary`, so they must say the same about the same run.
@Suite struct SummaryTests {
    static let files = [
        "Captures/multi.pcap", "Captures/half-open.pcap", "Captures/loss-retransmission.pcap",
        "Captures/refused.pcap"
    ]

    @Test func textAndJSONSummariesAgree() throws {
        let text = try WireStateBinary.run(["analyze"] + Self.files).stdout
        let json = try WireStateBinary.run(["analyze", "--format", "jsonl"] + Self.files).stdout
        let last = try #require(json.split(separator: "\n").last)
        let s = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        #expect(s["type"] as? String == "summary")
        let resets = try #require(s["resets_by"] as? [String: Int])
        #expect(text.contains("resets by: client \(resets["client"]!), server \(resets["server"]!), none \(resets["none"]!)"))
        #expect(resets.values.reduce(0, +) == s["connections"] as? Int)
        let zeek = try #require(s["zeek_conn_states"] as? [String: Int])
        #expect(zeek["REJ"] == 1)  // refused.pcap
        for (state, n) in zeek { #expect(text.contains("\(state) ×\(n)"), "\(state) ×\(n)") }
        let codes = try #require(s["anomalies_by_code"] as? [String: Int])
        #expect(codes.values.reduce(0, +) == s["anomalies"] as? Int)
        for (code, n) in codes { #expect(text.contains("\(code) \(n)")) }
        let finals = try #require(s["final_states"] as? [String: Int])
        #expect(finals.values.reduce(0, +) == s["connections"] as? Int)
        let hs = try #require((s["handshake"] as? [String: Any])?["syn_to_synack"] as? [String: Any])
        #expect((hs["count"] as? Int ?? 0) >= 7)
        let p50 = try #require(hs["p50_ns"] as? Int), p99 = try #require(hs["p99_ns"] as? Int)
        #expect(p50 > 0 && p50 <= p99)
        let talkers = try #require(s["top_talkers"] as? [[String: Any]])
        #expect(talkers.count >= 2)
        let bytes = talkers.compactMap { $0["bytes"] as? Int }
        #expect(bytes == bytes.sorted(by: >))
        // How long servers sat in CLOSE_WAIT: half-close style endings leave server CLOSE_WAIT time.
        let server = try #require(s["server_state_ns"] as? [String: Int])
        #expect((server["ESTABLISHED"] ?? 0) > 0)
        #expect(text.contains("time in state, servers: "))
    }

    /// Top talkers stay bounded however many addresses go by (one fresh client per connection,
    /// as a scan or the benchmark's traffic), and the heavy ones still come out on top, exactly.
    @Test func talkersAreBoundedAndKeepTheHeavyOnes() {
        var summary = RunSummary()
        let server = IPAddress(ipv4: 0x0a00_0001), heavy = IPAddress(ipv4: 0x0a00_0002)
        let times = StateTimes()
        for i in 0..<(5 * RunSummary.talkerLimit) {
            let client = IPAddress(ipv4: 0xc000_0000 | UInt32(i))
            summary.add(
                clientState: "CLOSED", serverState: "CLOSED", resetBy: "none", zeekState: "SF", times: times,
                synToSynAck: nil, synAckToAck: nil, handshakeRTT: nil, bytes: 100, packets: 2, client: client, server: server)
            if i % 1000 == 0 {
                summary.add(
                    clientState: "CLOSED", serverState: "CLOSED", resetBy: "none", zeekState: "SF", times: times,
                    synToSynAck: nil, synAckToAck: nil, handshakeRTT: nil, bytes: 50_000, packets: 40, client: heavy,
                    server: server)
            }
            #expect(summary.talkersHeld < 2 * RunSummary.talkerLimit)
        }
        let top = summary.topTalkers(2)
        #expect(top.map(\.address) == [server, heavy])
        #expect(top[0].connections == 5 * RunSummary.talkerLimit + 50 && top[0].bytes == 5 * UInt64(RunSummary.talkerLimit) * 100 + 50 * 50_000)
        #expect(top[1].connections == 50 && top[1].bytes == 50 * 50_000)
    }

    /// Handshake samples stay bounded past `Samples.limit`, count every one, are the same for the
    /// same sequence, and still estimate the percentiles (a uniform sample).
    @Test func handshakeSamplesAreBoundedAndRepeatable() throws {
        var a = RunSummary.Samples(), b = RunSummary.Samples()
        let n = 2 * RunSummary.Samples.limit + 12_345
        for i in 0..<n {
            let v = Int64((i &* 7919) % n)  // every value 0..<n once, in a scrambled order
            a.add(v)
            b.add(v)
        }
        #expect(a.count == n)
        #expect(a.values.count == RunSummary.Samples.limit)
        #expect(a.values == b.values)
        let p50 = try #require(RunSummary.percentile(a.values, 50)), p90 = try #require(RunSummary.percentile(a.values, 90))
        #expect(abs(Double(p50) - 0.5 * Double(n)) < 0.01 * Double(n), "p50 \(p50) of \(n)")
        #expect(abs(Double(p90) - 0.9 * Double(n)) < 0.01 * Double(n), "p90 \(p90) of \(n)")
        // Below the limit it keeps every sample: exact.
        var small = RunSummary.Samples()
        for v in [5, 1, 4, 2, 3] as [Int64] { small.add(v) }
        #expect(small.values == [5, 1, 4, 2, 3] && small.count == 5)
    }

    @Test func percentilesAreNearestRank() {
        let samples: [Int64] = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6]
        #expect(RunSummary.percentile(samples, 50) == 5)
        #expect(RunSummary.percentile(samples, 90) == 9)
        #expect(RunSummary.percentile(samples, 99) == 10)
        #expect(RunSummary.percentile([], 50) == nil)
        #expect(RunSummary.percentile([42], 1) == 42)
    }

    /// Time per state sums to the connection's span for each endpoint (nothing lost or counted twice).
    /// `StateTimes.add` and `withTimes` work on the raw storage: each entry must land where the
    /// subscript reads it, saturating, and a role's row be that role's, in state order.
    @Test func stateTimesAddEntryByEntryAndSaturate() {
        var a = StateTimes(), b = StateTimes()
        for (k, s) in TCPState.allCases.enumerated() {
            a[.client, s] = Int64(k + 1)
            a[.server, s] = Int64(100 * (k + 1))
            b[.client, s] = Int64(1_000 * (k + 1))
            b[.server, s] = k == 3 ? Int64.max - 50 : 7
        }
        var sum = a
        sum.add(b)
        for (k, s) in TCPState.allCases.enumerated() {
            #expect(sum[.client, s] == Int64(1_001 * (k + 1)))
            #expect(sum[.server, s] == CaptureTime.adding(b[.server, s], to: a[.server, s]))
            #expect(sum.withTimes(of: .client) { $0[k] } == sum[.client, s])
            #expect(sum.withTimes(of: .server) { $0[k] } == sum[.server, s])
        }
        #expect(sum[.server, TCPState.allCases[3]] == CaptureTime.adding(Int64.max - 50, to: 400))
        #expect(sum.withTimes(of: .client) { $0.count } == TCPState.allCases.count)
    }

    /// One run counts connections and anomalies by the enums' raw values; `wirestate merge` feeds
    /// their names. Both must give the same dictionaries and the same renderings, on every capture.
    @Test func countedAndNamedInputsGiveTheSameSummary() throws {
        let events = ZeekViewSwitchTests.events(try ShardTests.captures(), zeekView: true)
        var counted = RunSummary(), named = RunSummary()
        for e in events {
            switch e {
            case .finished(let c):
                counted.add(c, times: nil)
                named.add(
                    clientState: c.clientState.name, serverState: c.serverState.name, resetBy: c.facts.resetBy?.name ?? "none",
                    zeekState: c.facts.zeek.connState.name, times: nil, synToSynAck: c.facts.synToSynAck,
                    synAckToAck: c.facts.synAckToAck, handshakeRTT: c.facts.handshakeRTT,
                    bytes: c.bytesFromClient + c.bytesFromServer, packets: c.packetsFromClient + c.packetsFromServer,
                    client: c.client.address, server: c.server.address)
            case .anomaly(let a):
                counted.add(a)
                named.add(anomaly: a.code.code, severity: a.severity.name)
            default: break
            }
        }
        #expect(counted.connections > 40)
        #expect(counted.finalStates.count > 5 && counted.anomaliesByCode.count > 10)
        #expect(counted.finalStates == named.finalStates)
        #expect(counted.resetsBy == named.resetsBy)
        #expect(counted.zeekStates == named.zeekStates)
        #expect(counted.anomaliesByCode == named.anomaliesByCode)
        #expect(counted.anomaliesBySeverity == named.anomaliesBySeverity)
        #expect(counted.jsonMembers() == named.jsonMembers())
        #expect(counted.text() == named.text())
        // Both at once add up.
        var both = counted
        both.add(anomaly: "zero-window", severity: "info")
        #expect(both.anomaliesByCode["zero-window"] == (counted.anomaliesByCode["zero-window"] ?? 0) + 1)
    }

    @Test func stateTimesCoverTheConnection() throws {
        let json = try WireStateBinary.run(["analyze", "--format", "jsonl", "Captures/client-close.pcap"]).stdout
        for line in json.split(separator: "\n") {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard o["type"] as? String == "connection" else { continue }
            let duration = try #require(o["duration_ns"] as? Int)
            for key in ["client_state_ns", "server_state_ns"] {
                let t = try #require(o[key] as? [String: Int])
                #expect(t.values.reduce(0, +) == duration, "\(key): \(t) vs \(duration)")
            }
            #expect(o["closed_by"] as? String == "client")
            #expect(o["reset_by"] as? String == "none")
            let a = try #require(o["syn_to_synack_ns"] as? Int), b = try #require(o["synack_to_ack_ns"] as? Int)
            #expect(o["handshake_rtt_ns"] as? Int == a + b)
        }
    }
}

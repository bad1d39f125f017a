import Foundation
import Testing

/// `--format zeek` read the way zeek-cut reads a log (zeek-cut is not packaged in Debian, so this
/// test does its job): the separator from `#separator` (with its `\x09` escape), the column names
/// from `#fields`, a type per column from `#types`, and every row split into exactly that many
/// cells. Each row must agree with the JSON Lines record of the same uid.
@Suite struct ZeekConnLogTests {
    struct Log {
        var separator: String
        var headers: [String: String] = [:]
        var fields: [String] = []
        var types: [String] = []
        var rows: [[String: String]] = []
    }

    /// zeek-cut's header handling: `#separator` first, then `#key<sep>value` lines.
    static func parse(_ text: String) throws -> Log {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        let first = try #require(lines.first)
        #expect(first.hasPrefix("#separator "))
        var sep = String(first.dropFirst("#separator ".count))
        if sep.hasPrefix("\\x"), let code = UInt8(sep.dropFirst(2), radix: 16) { sep = String(UnicodeScalar(code)) }
        var log = Log(separator: sep)
        for line in lines.dropFirst() {
            if line.hasPrefix("#") {
                let parts = line.dropFirst().components(separatedBy: sep)
                let key = parts[0]
                log.headers[key] = parts.dropFirst().joined(separator: sep)
                if key == "fields" { log.fields = Array(parts.dropFirst()) }
                if key == "types" { log.types = Array(parts.dropFirst()) }
                continue
            }
            let cells = line.components(separatedBy: sep)
            #expect(cells.count == log.fields.count, "row has \(cells.count) cells, #fields names \(log.fields.count): \(line)")
            log.rows.append(Dictionary(uniqueKeysWithValues: zip(log.fields, cells)))
        }
        return log
    }

    static func valid(_ value: String, as type: String) -> Bool {
        if value == "-" { return true }
        switch type {
        case "time", "interval": return Double(value) != nil && value.contains(".")
        case "count": return UInt64(value) != nil
        case "port": return UInt16(value) != nil
        case "bool": return value == "T" || value == "F"
        case "addr": return value.contains(".") || value.contains(":")
        case "enum", "string": return !value.isEmpty
        case "set[string]": return value == "(empty)" || !value.isEmpty
        default: return false
        }
    }

    @Test(arguments: JSONSchemaTests.captures)
    func connLogParsesAsZeekCutDoesAndMatchesTheJSON(_ capture: String) throws {
        let r = try WireStateBinary.run(["analyze", "--format", "zeek", capture])
        #expect(r.status == 0)
        let log = try Self.parse(r.stdout)
        #expect(log.separator == "\t")
        for key in ["set_separator", "empty_field", "unset_field", "path", "open", "fields", "types", "close"] {
            #expect(log.headers[key] != nil, "missing #\(key)")
        }
        #expect(log.headers["path"] == "conn")
        #expect(log.fields.count == log.types.count)
        #expect(Array(log.fields.prefix(6)) == ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"])
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.last?.hasPrefix("#close\t") == true)

        let json = try WireStateBinary.run(["analyze", "--format", "jsonl", capture])
        var byUID: [String: [String: Any]] = [:]
        for line in json.stdout.split(separator: "\n") {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            if o["type"] as? String == "connection", let uid = o["uid"] as? String { byUID[uid] = o }
        }
        #expect(log.rows.count == byUID.count)
        #expect(!log.rows.isEmpty)
        for row in log.rows {
            for (name, type) in zip(log.fields, log.types) {
                #expect(Self.valid(row[name] ?? "", as: type), "\(name) (\(type)) = \(row[name] ?? "nil")")
            }
            let c = try #require(byUID[row["uid"] ?? ""], "no JSON connection with uid \(row["uid"] ?? "")")
            #expect(row["conn_state"] == c["zeek_conn_state"] as? String)
            let history = c["zeek_history"] as? String
            #expect(row["history"] == (history == "" ? "(empty)" : history))
            #expect(row["community_id"] == c["community_id"] as? String)
            #expect(row["id.orig_h"] == c["client_ip"] as? String)
            #expect(row["id.resp_p"] == (c["server_port"] as? Int).map(String.init))
            #expect(row["orig_pkts"] == (c["packets_client_to_server"] as? Int).map(String.init))
            #expect(row["proto"] == "tcp")
        }
    }

    /// Zeek's conn_state values seen on the real captures, case by case: each capture's meaning
    /// fixes what Zeek's rules must say about its first connection.
    @Test(
        arguments: [
            ("Captures/refused.pcap", "REJ", "Sr"),
            ("Captures/client-close.pcap", "SF", nil),
            ("Captures/half-close.pcap", "S2", nil),
            ("Captures/abort-rst.pcap", "RSTO", nil),
            ("Captures/midstream.pcap", "SF", nil)
        ] as [(String, String, String?)])
    func realCapturesGetZeeksState(_ capture: String, _ state: String, _ history: String?) throws {
        let r = try WireStateBinary.run(["analyze", "--format", "zeek", capture])
        let row = try #require(try Self.parse(r.stdout).rows.first)
        #expect(row["conn_state"] == state)
        if let history { #expect(row["history"] == history) }
        // Midstream: no S in the history, as Zeek has no SYN to log.
        if capture.contains("midstream") { #expect(row["history"]?.contains("S") == false) }
    }

    @Test func liveRefusesZeekFormat() throws {
        let r = try WireStateBinary.run(["live", "-i", "lo", "--format", "zeek"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("analyze"))
    }
}

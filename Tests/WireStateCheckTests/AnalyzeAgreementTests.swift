import Foundation
import Testing
@testable import WireStateCheck

/// `check` must see exactly what `analyze` reports: for every committed capture, the connections,
/// final states, transitions and anomalies that `Observer` collects equal `wirestate analyze
/// --format jsonl`'s records.
@Suite struct AnalyzeAgreementTests {
    static func captureNames() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: Support.captures.path)) ?? [])
            .filter(Checker.isCapture).sorted()
    }

    struct View: Equatable, CustomStringConvertible {
        var connections: [String] = []
        var transitions: [String: [String]] = [:]
        var anomalies: [String: [String]] = [:]
        var description: String { "\(connections)\n\(transitions)\n\(anomalies)" }
    }

    static func frame(_ any: Any?) -> String {
        if let n = any as? NSNumber { return "@\(n)" }
        return "@-"
    }

    static func fromAnalyze(_ path: String) throws -> View {
        let r = try Support.run(["analyze", "--format", "jsonl", path])
        #expect(r.status == 0, "\(r.all)")
        var v = View()
        for line in r.stdout.split(separator: "\n") {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            switch o["type"] as? String {
            case "connection":
                v.connections.append(
                    "\(o["id"]!) \(o["client"]!) -> \(o["server"]!) inc=\(o["incarnation"]!) "
                        + "final=\(o["client_state"]!)/\(o["server_state"]!)")
            case "transition":
                v.transitions["\(o["connection"]!) \(o["endpoint"]!)", default: []]
                    .append("\(o["from"]!)>\(o["to"]!)" + frame(o["frame"]))
            case "anomaly":
                v.anomalies["\(o["connection"]!)", default: []].append("\(o["code"]!)" + frame(o["frame"]))
            default:
                continue
            }
        }
        return v
    }

    static func fromCheck(_ path: String) throws -> View {
        let seen = try Observer.observe(capture: path).get()
        var v = View()
        for c in seen.connections {
            v.connections.append(
                "\(c.id) \(c.client) -> \(c.server) inc=\(c.incarnation) "
                    + "final=\(c.clientState.name)/\(c.serverState.name)")
            for (role, list) in [("client", c.clientTransitions), ("server", c.serverTransitions)] where !list.isEmpty {
                v.transitions["\(c.id) \(role)"] = list.map { "\($0.from.name)>\($0.to.name)" + frame($0.frame.map { NSNumber(value: $0) }) }
            }
            if !c.anomalies.isEmpty {
                v.anomalies["\(c.id)"] = c.anomalies.map { $0.code.code + frame($0.frame.map { NSNumber(value: $0) }) }
            }
        }
        return v
    }

    @Test(arguments: captureNames())
    func checkSeesWhatAnalyzeReports(_ name: String) throws {
        let path = Support.capture(name)
        let check = try Self.fromCheck(path)
        #expect(check == (try Self.fromAnalyze(path)))
        // Every connection starts somewhere: a capture with connections has transitions, unless all
        // it holds is an impossible segment (syn-fin), which moves no state and is an anomaly.
        #expect(
            check.connections.isEmpty || !check.transitions.isEmpty || !check.anomalies.isEmpty,
            "\(name): nothing collected")
    }
}

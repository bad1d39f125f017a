import WireStatePipeline
import WireStateTracker

/// Every transition of a capture, counted per role and edge: the state graph `wirestate diagram
/// --states` draws as SVG, DOT or Mermaid. Small (at most 2 × 11 × 11 edges) whatever the capture.
public struct StateGraph: EventSink {
    public struct Edge: Hashable, Comparable {
        public var role: Role
        public var from: TCPState
        public var to: TCPState
        public static func < (a: Edge, b: Edge) -> Bool {
            (a.role.rawValue, a.from, a.to) < (b.role.rawValue, b.from, b.to)
        }
    }

    public private(set) var counts: [Edge: Int] = [:]

    public init() {}

    public mutating func consume(_ event: TrackerEvent) {
        if case .transition(let t) = event { counts[Edge(role: t.endpoint, from: t.from, to: t.to), default: 0] += 1 }
    }

    public var edges: [(edge: Edge, count: Int)] { counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }

    public func dot() -> String {
        var out = "digraph wirestate_states {\n  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
        for role in Role.allCases {
            out += "  subgraph cluster_\(role.name) {\n    label=\"\(role.name)\";\n"
            let used = Set(edges.filter { $0.edge.role == role }.flatMap { [$0.edge.from, $0.edge.to] })
            for s in TCPState.allCases where used.contains(s) { out += "    \(role.name)_\(s.name) [label=\"\(s.name)\"];\n" }
            for (e, n) in edges where e.role == role {
                out += "    \(role.name)_\(e.from.name) -> \(role.name)_\(e.to.name) [label=\"\(n)\"];\n"
            }
            out += "  }\n"
        }
        return out + "}\n"
    }

    public func mermaid() -> String {
        var out = "stateDiagram-v2\n"
        for role in Role.allCases {
            out += "    state \(role.name) {\n"
            for (e, n) in edges where e.role == role {
                func id(_ s: TCPState) -> String { s == .closed ? "\(role.name)_CLOSED" : "\(role.name)_\(s.name)" }
                out += "        \(id(e.from)) --> \(id(e.to)) : \(n)\n"
            }
            out += "    }\n"
        }
        return out
    }

    /// Node centres in one panel, after RFC 9293 figure 5.
    static func position(_ s: TCPState) -> (x: Int, y: Int) {
        switch s {
        case .closed: return (210, 70)
        case .listen: return (210, 140)
        case .synReceived: return (80, 210)
        case .synSent: return (340, 210)
        case .established: return (210, 280)
        case .finWait1: return (80, 350)
        case .closeWait: return (340, 350)
        case .finWait2: return (50, 430)
        case .closing: return (170, 430)
        case .lastAck: return (340, 430)
        case .timeWait: return (110, 510)
        }
    }

    public func svg() -> String {
        let panel = 440, height = 560
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(2 * panel)\" height=\"\(height)\" viewBox=\"0 0 \(2 * panel) \(height)\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
        out +=
            "<style>.node{fill:#eef3fb;stroke:#1f4e99}.unused{fill:#fafafa;stroke:#ccc}.name{font-size:11px;text-anchor:middle}"
            + ".edge{stroke:#333;stroke-width:1.3;fill:none}.count{font-size:11px;fill:#c05000;font-weight:bold;text-anchor:middle}"
            + ".title{font-size:14px;font-weight:bold;text-anchor:middle}</style>\n"
        out +=
            "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#333\"/></marker></defs>\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        for (i, role) in Role.allCases.enumerated() {
            let dx = i * panel
            out += "<text x=\"\(dx + 210)\" y=\"28\" class=\"title\">\(role.name)s</text>\n"
            let used = Set(edges.filter { $0.edge.role == role }.flatMap { [$0.edge.from, $0.edge.to] })
            for (e, n) in edges where e.role == role {
                let a = Self.position(e.from), b = Self.position(e.to)
                // Opposite edges between the same pair are drawn apart.
                let off = e.from < e.to ? 5 : -5
                let (ax, ay, bx, by) = Self.clip(a, b)
                out +=
                    "<line x1=\"\(dx + ax + off)\" y1=\"\(ay + off)\" x2=\"\(dx + bx + off)\" y2=\"\(by + off)\" class=\"edge\" marker-end=\"url(#arrow)\"/>\n"
                out += "<text x=\"\(dx + (ax + bx) / 2 + 3 * off)\" y=\"\((ay + by) / 2 + off)\" class=\"count\">\(n)</text>\n"
            }
            for s in TCPState.allCases {
                let p = Self.position(s)
                out += "<rect x=\"\(dx + p.x - 48)\" y=\"\(p.y - 12)\" width=\"96\" height=\"24\" rx=\"6\" class=\"\(used.contains(s) ? "node" : "unused")\"/>"
                out += "<text x=\"\(dx + p.x)\" y=\"\(p.y + 4)\" class=\"name\">\(s.name)</text>\n"
            }
        }
        return out + "</svg>\n"
    }

    /// Ends a line at the node boxes' edges rather than their centres.
    static func clip(_ a: (x: Int, y: Int), _ b: (x: Int, y: Int)) -> (Int, Int, Int, Int) {
        let dx = Double(b.x - a.x), dy = Double(b.y - a.y)
        let t = min(48 / max(abs(dx), 0.001), 12 / max(abs(dy), 0.001), 0.45)
        return (a.x + Int(dx * t), a.y + Int(dy * t), b.x - Int(dx * t), b.y - Int(dy * t))
    }
}

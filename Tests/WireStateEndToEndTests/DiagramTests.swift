import Foundation
import Testing

/// `wirestate diagram`: the ladder and the state graph, in every format, on real captures. The
/// SVGs are rendered in headless Chromium (Debian's `chromium`, installed by .ci/run): the picture
/// must not be blank and its text must sit where the layout puts it.
@Suite struct DiagramTests {
    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    struct Rendered {
        /// Every <text>: content, bounding box x, y, width (CSS pixels).
        var texts: [(text: String, x: Double, y: Double, width: Double)]
        /// Pixels that are not white when the SVG is drawn on a canvas.
        var inked: Int
        var total: Int
    }

    /// Loads the SVG into a page, measures each text's box and draws the SVG on a canvas to count
    /// inked pixels; the page writes its findings into the DOM, which --dump-dom prints.
    static func render(_ svg: String) throws -> Rendered {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wirestate-render-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try svg.write(to: dir.appendingPathComponent("d.svg"), atomically: true, encoding: .utf8)
        let page = """
            <html><body style="margin:0"><div id="d"></div><script>
            fetch('d.svg').then(r => r.text()).then(t => {
              document.getElementById('d').innerHTML = t;
              const svg = document.querySelector('svg');
              const texts = [...svg.querySelectorAll('text')].map(e => { const b = e.getBBox(); return [e.textContent, b.x, b.y, b.width]; });
              const img = new Image();
              img.onload = () => {
                const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
                const x = c.getContext('2d'); x.drawImage(img, 0, 0);
                const px = x.getImageData(0, 0, c.width, c.height).data; let inked = 0;
                for (let i = 0; i < px.length; i += 4) if (px[i] < 240 || px[i+1] < 240 || px[i+2] < 240) inked++;
                const out = document.createElement('pre'); out.id = 'result';
                out.textContent = JSON.stringify({texts, inked, total: c.width * c.height});
                document.body.appendChild(out);
              };
              img.src = 'data:image/svg+xml;base64,' + btoa(unescape(encodeURIComponent(t)));
            });
            </script></body></html>
            """
        try page.write(to: dir.appendingPathComponent("p.html"), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try #require(chromium))
        p.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
            "--virtual-time-budget=10000", "--dump-dom", dir.appendingPathComponent("p.html").absoluteString
        ]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let dom = String(decoding: data, as: UTF8.self)
        let start = try #require(dom.range(of: "<pre id=\"result\">"), "no result in the rendered page")
        let end = try #require(dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex))
        let json = String(dom[start.upperBound..<end.lowerBound])
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let texts = (o["texts"] as? [[Any]] ?? []).map {
            (
                $0[0] as? String ?? "", ($0[1] as? NSNumber)?.doubleValue ?? 0, ($0[2] as? NSNumber)?.doubleValue ?? 0,
                ($0[3] as? NSNumber)?.doubleValue ?? 0
            )
        }
        return Rendered(texts: texts, inked: o["inked"] as? Int ?? 0, total: o["total"] as? Int ?? 1)
    }

    static func diagram(_ args: [String]) throws -> String {
        let r = try WireStateBinary.run(["diagram"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout
    }

    /// The issue's acceptance case: both endpoints pass through CLOSING, drawn in a real browser.
    @Test(.enabled(if: chromium != nil, "install Debian's chromium to render the SVGs"))
    func simultaneousCloseShowsClosingOnBothColumns() throws {
        let svg = try Self.diagram(["Captures/simultaneous-close.pcap", "--connection", "1", "--format", "svg"])
        let r = try Self.render(svg)
        #expect(r.inked > r.total / 100, "picture is (nearly) blank: \(r.inked) of \(r.total) pixels inked")
        #expect(r.inked < r.total / 2, "picture is mostly ink: \(r.inked) of \(r.total)")
        for t in r.texts { #expect(t.width > 0, "text not laid out: \(t.text)") }
        let client = try #require(r.texts.first { $0.text.hasPrefix("client ") })
        let server = try #require(r.texts.first { $0.text.hasPrefix("server ") })
        #expect(client.x + client.width < server.x)
        let closing = r.texts.filter { $0.text == "CLOSING" }
        // Each state box sits outside its own column: left of the client's, right of the server's.
        #expect(closing.contains { $0.x + $0.width < 190 }, "no CLOSING on the client column: \(closing)")
        #expect(closing.contains { $0.x > 650 }, "no CLOSING on the server column: \(closing)")
        // Frames run down the page in order.
        let frames = r.texts.filter { $0.text.hasPrefix("#") }.map(\.y)
        #expect(frames.count >= 10 && frames == frames.sorted())
        // The anomaly is drawn, in the middle.
        let anomaly = try #require(r.texts.first { $0.text.contains("simultaneous-close") })
        #expect(anomaly.x > 190 && anomaly.x + anomaly.width < 650)
    }

    @Test(.enabled(if: chromium != nil, "install Debian's chromium to render the SVGs"))
    func stateGraphRendersWithCountsOnBothRoles() throws {
        let svg = try Self.diagram(["Captures/multi.pcap", "--states", "--format", "svg"])
        let r = try Self.render(svg)
        #expect(r.inked > r.total / 100)
        let titles = r.texts.filter { $0.text == "clients" || $0.text == "servers" }
        #expect(titles.count == 2)
        #expect(r.texts.filter { $0.text == "ESTABLISHED" }.count == 2)
        #expect(r.texts.contains { Int($0.text) != nil })
    }

    /// The graph's counts are the capture's transitions: DOT edge labels sum to the JSON records.
    @Test func stateGraphCountsEveryTransition() throws {
        let dot = try Self.diagram(["Captures/multi.pcap", "--states", "--format", "dot"])
        #expect(dot.hasPrefix("digraph"))
        let labels = dot.split(separator: "\n").compactMap { line -> Int? in
            guard line.contains("->"), let r = line.range(of: "label=\"") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }
        let json = try WireStateBinary.run(["analyze", "--format", "jsonl", "Captures/multi.pcap"]).stdout
        let transitions = json.split(separator: "\n").filter { $0.hasPrefix("{\"type\":\"transition\"") }.count
        #expect(labels.reduce(0, +) == transitions)
        #expect(dot.contains("cluster_client") && dot.contains("cluster_server"))
        let mermaid = try Self.diagram(["Captures/multi.pcap", "--states", "--format", "mermaid"])
        #expect(mermaid.hasPrefix("stateDiagram-v2"))
        #expect(mermaid.contains("client_SYN_SENT --> client_ESTABLISHED : 6"))
    }

    @Test func textAndMermaidLaddersOfASimultaneousClose() throws {
        let text = try Self.diagram(["Captures/simultaneous-close.pcap", "--connection", "1"])
        let closing = text.split(separator: "\n").filter { $0.contains("CLOSING") }
        #expect(closing.count >= 2)
        #expect(text.contains("! simultaneous-close"))
        let mermaid = try Self.diagram(["Captures/simultaneous-close.pcap", "--connection", "1", "--format", "mermaid"])
        #expect(mermaid.hasPrefix("sequenceDiagram"))
        #expect(mermaid.contains("Note over C: ■ FIN_WAIT_1"))
        #expect(mermaid.contains("CLOSING"))
        // One arrow per captured segment.
        let arrows = mermaid.split(separator: "\n").filter { $0.contains("->>") }.count
        #expect(arrows == 11)
    }

    /// A long exchange is folded: the count of folded segments plus drawn arrows is every segment.
    @Test func dataRunsAreFoldedWithACount() throws {
        let mermaid = try Self.diagram(["Captures/loss-retransmission.pcap", "--connection", "1", "--format", "mermaid"])
        let arrows = mermaid.split(separator: "\n").filter { $0.contains("->>") }.count
        let folded = mermaid.split(separator: "\n").compactMap { line -> Int? in
            guard let r = line.range(of: "… ") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }
        #expect(!folded.isEmpty)
        let table = try WireStateBinary.run(["analyze", "--format", "jsonl", "Captures/loss-retransmission.pcap"]).stdout
        let conn = try #require(table.split(separator: "\n").first { $0.hasPrefix("{\"type\":\"connection\"") })
        let o = try #require(try JSONSerialization.jsonObject(with: Data(conn.utf8)) as? [String: Any])
        let packets = (o["packets_client_to_server"] as? Int ?? 0) + (o["packets_server_to_client"] as? Int ?? 0)
        #expect(arrows + folded.reduce(0, +) == packets)
    }

    @Test func unknownConnectionIsAnError() throws {
        let r = try WireStateBinary.run(["diagram", "Captures/refused.pcap", "--connection", "9"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("no connection 9"))
    }
}

import WireStateCapture
import WireStateDiagnose
import WireStatePipeline
import WireStateReport
import WireStateTracker

/// `wirestate live --diagnose`: the findings of `diagnose`, printed when one first holds and again
/// when it changes (more connections, another severity), then all of them when the capture stops.
///
/// Findings are evaluated once a second of wall-clock time (not per packet: they look at every
/// connection kept), with the collector's "now" moved to the wall clock first, so a CLOSE_WAIT
/// held on a quiet wire still crosses `--stuck-after`.
struct LiveDiagnosis {
    var format: OutputFormat
    /// What was last printed per finding, to print only what is new or changed.
    var shown: [String: (severity: DiagnosisSeverity, connections: Int, summary: String)] = [:]

    static func identity(_ f: Finding) -> String { f.code.code + " " + f.subject + " " + (f.peer ?? "") + " " + (f.label ?? "") }

    /// Prints the findings that are new or changed since the last call.
    mutating func update(_ findings: [Finding], now: Int64, out: inout FDOutput) {
        for f in findings {
            let id = Self.identity(f)
            let before = shown[id]
            if let before, before.severity == f.severity, before.connections == f.connectionCount { continue }
            shown[id] = (f.severity, f.connectionCount, f.summary)
            switch format {
            case .jsonl:
                out.write(Self.withStatus(DiagnosisReport.json(f), before == nil ? "new" : "updated") + "\n")
            default:
                if before == nil {
                    out.write(LiveText.clock(now) + "  new finding\n" + DiagnosisReport.text(f) + "\n")
                } else {
                    out.write(LiveText.clock(now) + "  updated: \(f.severity.name) \(f.code.code) \(f.subject): \(f.summary)\n")
                }
            }
        }
        out.flush()
    }

    /// Every finding as it stands when the capture stopped.
    func final(_ findings: [Finding], connections: Int, frames: UInt64, out: inout FDOutput) {
        switch format {
        case .jsonl:
            for f in findings { out.write(Self.withStatus(DiagnosisReport.json(f), "final") + "\n") }
        default:
            out.write("\nFindings when the capture stopped:\n\n")
            for f in findings { out.write(DiagnosisReport.text(f) + "\n") }
            out.write(DiagnosisReport.footer(findings, connections: connections, frames: frames))
        }
        out.flush()
    }

    /// The record with `"status":…` after its schema field (docs/schema/diagnosis.json).
    static func withStatus(_ json: String, _ status: String) -> String {
        let head = "{\"type\":\"diagnosis\",\"schema\":1"
        guard json.hasPrefix(head) else { return json }
        return head + ",\"status\":\"\(status)\"" + json.dropFirst(head.count)
    }
}

extension Live {
    func runDiagnose(_ capture: LiveCapture, _ config: ConnectionTracker.Configuration, format: OutputFormat) throws -> Bool {
        var collector = DiagnosisCollector(options: try thresholds.options())
        collector.sourceNames = [interface]
        var pipeline = Pipeline(configuration: config, tunnelPorts: tunnels.ports, sink: collector)
        pipeline.threads = threads
        var live = LiveDiagnosis(format: format)
        var out = StandardOutput()
        var nextLook: Int64 = 0
        // Finished connections older than this no finding needs (TIME_WAIT lasts 2·MSL).
        let keep = CaptureTime.adding(CaptureTime.adding(config.msl, to: config.msl), to: 60_000_000_000)
        let error = pipeline.run(live: capture) { p in
            let now = monotonicNanos()
            guard now >= nextLook else { return }
            nextLook = now + 1_000_000_000
            let wall = wallClockNanos()
            p.sink.advance(to: wall)
            p.sink.forgetFinished(before: CaptureTime.adding(-keep, to: wall))
            live.update(p.sink.findings(), now: wall, out: &out)
        }
        let stats = capture.statistics()
        let writeError = finishWriting(capture)
        pipeline.sink.advance(to: wallClockNanos())  // a state still held is held until the capture stopped
        pipeline.finish()
        live.final(
            pipeline.sink.findings(), connections: pipeline.sink.connectionCount,
            frames: pipeline.totalCounters.frames, out: &out)
        Diagnostics.note(statisticsLine(capture, stats))
        return report(error, writeError, stats)
    }
}

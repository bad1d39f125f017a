import WireStateReport
import WireStateTracker

/// Findings as text for a terminal and as JSON Lines (`{"type":"diagnosis",…}`, one per finding;
/// docs/schema/diagnosis.json). Strings in, strings out: the caller writes them.
public enum DiagnosisReport {
    /// One block per finding: the headline (severity, code, subject), the sentence, the evidence,
    /// the likely causes and the next steps.
    public static func text(_ f: Finding) -> String {
        let sev = f.severity.name.uppercased()
        var s = sev + String(repeating: " ", count: max(1, 9 - sev.count)) + "\(f.code.code)  \(f.subjectKind.name) \(f.subject)"
        if let p = f.peer { s += " → \(p)" }
        s += "\n  \(f.summary)\n"
        s += "  evidence (\(f.evidence.name)"
        if let d = f.durationNanos, let t = f.thresholdNanos { s += "; longest \(Format.duration(d)), threshold \(Format.duration(t))" }
        s += "):\n"
        for d in f.details { s += "    \(d)\n" }
        s += "  likely causes:\n"
        for c in f.causes { s += "    - \(c)\n" }
        s += "  next steps:\n"
        for n in f.nextSteps { s += "    \(n)\n" }
        return s
    }

    /// The closing line: how many findings of each severity, over how much traffic.
    public static func footer(_ findings: [Finding], connections: Int, frames: UInt64) -> String {
        let by = DiagnosisSeverity.allCases.reversed().map { sev in "\(findings.filter { $0.severity == sev }.count) \(sev.name)" }
        if findings.isEmpty {
            return "diagnose: no findings over \(connections) connection\(connections == 1 ? "" : "s"), \(frames) frames\n"
        }
        return "diagnose: \(findings.count) finding\(findings.count == 1 ? "" : "s") (\(by.joined(separator: ", "))) over "
            + "\(connections) connection\(connections == 1 ? "" : "s"), \(frames) frames\n"
    }

    /// One JSON object, without the newline. `sourceNames`: with several inputs, frames name their file.
    public static func json(_ f: Finding, sourceNames: [String] = []) -> String {
        var s = "{\"type\":\"diagnosis\",\"schema\":1"
        s += ",\"code\":\(Format.json(f.code.code)),\"severity\":\(Format.json(f.severity.name))"
        s += ",\"subject\":\(Format.json(f.subject)),\"subject_kind\":\(Format.json(f.subjectKind.name))"
        s += ",\"peer\":" + (f.peer.map(Format.json) ?? "null")
        s += ",\"summary\":\(Format.json(f.summary)),\"evidence\":\(Format.json(f.evidence.name))"
        s += ",\"details\":[" + f.details.map(Format.json).joined(separator: ",") + "]"
        s += ",\"connections\":[" + f.connections.map(String.init).joined(separator: ",") + "]"
        s += ",\"connection_count\":\(f.connectionCount)"
        s += ",\"frames\":[" + f.frames.map { frame($0, sourceNames) }.joined(separator: ",") + "]"
        s += ",\"duration_ns\":" + (f.durationNanos.map(String.init) ?? "null")
        s += ",\"threshold_ns\":" + (f.thresholdNanos.map(String.init) ?? "null")
        s += ",\"first_ns\":\(f.firstTime),\"first_utc\":\"\(Format.rfc3339(f.firstTime))\""
        s += ",\"last_ns\":\(f.lastTime),\"last_utc\":\"\(Format.rfc3339(f.lastTime))\""
        s += ",\"causes\":[" + f.causes.map(Format.json).joined(separator: ",") + "]"
        s += ",\"next_steps\":[" + f.nextSteps.map(Format.json).joined(separator: ",") + "]"
        return s + "}"
    }

    /// A frame number, or `{"file":…,"frame":n}` when the run read several files.
    static func frame(_ f: FrameRef, _ names: [String]) -> String {
        guard names.count > 1, Int(f.source) < names.count else { return "\(f.number)" }
        return "{\"file\":\(Format.json(names[Int(f.source)])),\"frame\":\(f.number)}"
    }
}

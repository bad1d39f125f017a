import FuzzSupport
import WireStateCheck

/// What the committed multi-connection capture is seen to do (read once; empty if the capture is
/// not where this source file says, so the target still runs elsewhere).
let seen: SeenCapture = {
    let capture =
        String(#filePath.dropLast("Fuzz/Sources/FuzzExpectations/FuzzExpectations.swift".count))
        + "Captures/multi.pcap"
    return (try? Observer.observe(capture: capture).get()) ?? SeenCapture(connections: [])
}()

/// The `check` expectation-file parser on any bytes (decoded as `check` decodes a file read from
/// disk), then everything `check` does with a file that parses: evaluation against a real capture
/// and an empty one, the three reports of the outcome, and `--update`. The rewritten file must
/// parse again: `--update` writing a file that the next `check` rejects would break every CI run.
///
/// The same bytes are also read as a directory's `wirestate.rules` (the rule grammar without facts):
/// its rules are evaluated as `check` does, and its errors reported. And `--update`'s refusal (facts
/// written by hand) is asked first, as `check --update` asks it, in both port modes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExpectations(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    fuzzRulesFile(text)
    var outcome = CaptureOutcome(capture: "fuzz.pcap", expectation: "fuzz.expect")
    outcome.hasExpectationFile = true
    let file: ExpectationFile
    do {
        file = try ExpectationParser.parse(text, path: "fuzz.expect")
    } catch {
        outcome.errors = error.errors
        report(outcome)
        return 0
    }
    outcome.mismatches = Evaluator.evaluate(file, seen) + Evaluator.evaluate(file, SeenCapture(connections: []))
    outcome.connections = seen.connections.count
    report(outcome)
    if let refusal = ExpectationWriter.refusal(file, path: "fuzz.expect") {
        precondition(refusal.line != nil, "a refusal must name its line: \(refusal)")
    }
    for pinPorts in [false, true] {
        let rewritten = ExpectationWriter.updated(file, seen: seen, captureName: "fuzz.pcap", pinPorts: pinPorts)
        let reread: ExpectationFile
        do {
            reread = try ExpectationParser.parse(rewritten, path: "fuzz.expect")
        } catch {
            preconditionFailure("--update wrote a file that does not parse: \(error.errors)\n\(rewritten)")
        }
        // What --update writes, it must not refuse to update next time.
        if let refusal = ExpectationWriter.refusal(reread, path: "fuzz.expect") {
            preconditionFailure("--update refuses the file it wrote: \(refusal)\n\(rewritten)")
        }
    }
    return 0
}

/// The bytes as a `wirestate.rules` file: parsed, its rules evaluated against the capture, and its
/// errors (each must name the file and a line) reported.
func fuzzRulesFile(_ text: String) {
    var outcome = CaptureOutcome(capture: "fuzz.pcap", expectation: "fuzz.expect")
    do {
        let rules = try ExpectationParser.parseRules(text, path: "wirestate.rules")
        outcome.mismatches = Evaluator.rules(rules, seen, source: "wirestate.rules")
    } catch {
        for e in error.errors { precondition(e.file == "wirestate.rules" && e.line != nil, "\(e)") }
        outcome.errors = error.errors
    }
    report(outcome)
}

/// The outcome as text, GitHub annotations and JUnit XML, discarded.
func report(_ outcome: CaptureOutcome) {
    var out = DiscardSink()
    out.write(CheckReport.text(outcome))
    for line in GitHubAnnotations.lines([outcome]) { out.write(line) }
    out.write(JUnitWriter(timestamp: "2026-01-01T00:00:00", hostname: "fuzz").xml([outcome]))
}

@_cdecl("FuzzExpectations_main")
public func fuzzExpectationsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzExpectations)
}

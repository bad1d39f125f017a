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
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExpectations(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
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
    let rewritten = ExpectationWriter.updated(file, seen: seen, captureName: "fuzz.pcap")
    do {
        _ = try ExpectationParser.parse(rewritten, path: "fuzz.expect")
    } catch {
        preconditionFailure("--update wrote a file that does not parse: \(error.errors)\n\(rewritten)")
    }
    return 0
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

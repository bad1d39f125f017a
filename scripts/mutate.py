#!/usr/bin/env python3
"""Mutation testing for WireState: apply one small bug at a time to a scratch copy of the tree,
build it incrementally in its own build directory, run the suite (or a filter), record killed/survived.

    nice -n 19 scripts/mutate.py [--scratch /tmp/wirestate-mutants] [--filter REGEX] [--only NAME ...]

The working tree and its .build are never touched. Results go to <scratch>/results.tsv and stdout.
A mutant is *killed* when the build or the tests fail; it *survives* when they pass. A mutation whose
`old` text is not found (the code moved) is reported as `stale`, never silently skipped.
"""
import argparse, os, shutil, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T = "Sources/WireStateTracker/"
# (name, file, old text, new text): each one a bug a reviewer could plausibly miss.
MUTANTS = [
    # The three the issue names, and TIME_WAIT at 1·MSL.
    ("window-shrunk-never-emitted", T + "WindowCheck.swift",
     "sender.emit(.windowShrunk, ctx, &out, expected: last.maxRightEdge, actual: edge)", "_ = edge"),
    ("msl-option-ignored", "Sources/WireStateCLI/TrackerOptions.swift",
     "Configuration(msl: mslNanos,", "Configuration(msl: 30_000_000_000,"),
    ("rst-without-ack-closes-syn-sent", T + "EndpointMachine.swift",
     "if state == .synSent && !s.flags.contains(.ack) && receive?.irs == nil && send.nxt != nil",
     "if false && send.nxt != nil"),
    ("time-wait-one-msl", T + "EndpointMachine.swift",
     "CaptureTime.adding(CaptureTime.adding(msl, to: msl), to: timeWaitSince)",
     "CaptureTime.adding(msl, to: timeWaitSince)"),
    # Tracker: codes, transitions, keys.
    ("ack-number-without-ack-never", T + "HeaderChecks.swift",
     "if !s.flags.contains(.ack) && s.acknowledgment != 0 && c != .rst {", "if false {"),
    ("window-scale-over-13", T + "HeaderChecks.swift", "ws > 14 {", "ws > 13 {"),
    ("malformed-option-never", T + "HeaderChecks.swift",
     "if s.options.malformed { sender.emit(.malformedOption, ctx, &out) }", ""),
    ("rst-without-connection-never", T + "Connection.swift",
     "emit(.rstWithoutConnection, about: sender, ctx, &out)", ""),
    ("syn-not-captured-never", T + "Connection.swift",
     "emit(.synNotCaptured, about: sender, ctx, &out)", ""),
    ("fin-seq-changed-as-retransmission", T + "EndpointMachine.swift", "if finAt == fin.seq {", "if true {"),
    ("synack-changed-as-retransmission", T + "EndpointMachine.swift",
     "guard start == send.iss else {\n                emit(.synAckChanged",
     "guard true else {\n                emit(.synAckChanged"),
    ("synack-wrong-direction-never", T + "EndpointMachine.swift",
     "            emit(.synAckWrongDirection, ctx, &out)", "            break"),
    ("handshake-ack-any-ack", T + "EndpointMachine.swift",
     "guard acknowledgesOwnSyn(ack) else {\n                emitAbout(.handshakeAckInvalid",
     "guard true else {\n                emitAbout(.handshakeAckInvalid"),
    ("handshake-ack-not-captured-never", T + "EndpointMachine.swift",
     "emitAbout(.handshakeAckNotCaptured, ctx, &out)", ""),
    ("rst-with-data-never", T + "EndpointMachine.swift",
     "        if s.payloadLength > 0 { emit(.rstWithData, ctx, &out, actual: s.payloadLength) }\n        if state == .listen {",
     "        if state == .listen {"),
    ("fin-in-syn-sent-legal", T + "SendingTable.swift",
     "case (.synSent, .fin):         return .illegal(.finBeforeEstablished)",
     "case (.synSent, .fin):         return .decide(.sentFin)"),
    ("data-in-syn-sent-legal", T + "SendingTable.swift",
     "case (.synSent, .noAck):       return .illegal(.dataBeforeEstablished)",
     "case (.synSent, .noAck):       return .decide(.sentAck)"),
    ("syn-isn-change-as-retransmission", T + "EndpointMachine.swift",
     "            if let iss = send.iss {\n                if start == iss {",
     "            if let iss = send.iss {\n                if start == iss || true {"),
    ("data-beyond-window-off-by-far", T + "WindowCheck.swift",
     "if Seq.gt(dataEnd, edge.maxRightEdge)",
     "if Seq.gt(dataEnd, edge.maxRightEdge &+ 1_000_000)"),
    ("flowkey-not-canonical", T + "FlowTable.swift",
     "if (x.address, x.port) < (y.address, y.port) { a = x; b = y } else { a = y; b = x }",
     "a = x; b = y"),
    ("handshake-ack-goes-nowhere", T + "EndpointMachine.swift",
     "            confirmAck = segmentEnd\n            move(to: .established, .inferred",
     "            confirmAck = segmentEnd\n            move(to: .synReceived, .inferred"),
    ("simultaneous-open-not-reported", T + "EndpointMachine.swift",
     "            emit(.simultaneousOpen, ctx, &out)\n", "\n"),
    # Issue 8 section 2 rules landed after the run of 2026-12-01.
    ("data-too-old-never", T + "WindowCheck.swift",
     "return Seq.lt(s.sequence &+ s.sequenceLength, floor) ? floor : nil", "return nil"),
    ("data-too-old-after-a-gap", T + "WindowCheck.swift",
     "!receiverWindow.segmentsMissed, ", ""),
    ("ack-too-old-not-dropped", T + "WindowCheck.swift",
     "        sender.emit(.ackTooOld, ctx, &out, expected: floor, actual: s.acknowledgment)\n        return true",
     "        sender.emit(.ackTooOld, ctx, &out, expected: floor, actual: s.acknowledgment)\n        return false"),
    ("capture-reordered-never", T + "SequenceObservations.swift",
     "if len > 0, let unseen = sender.sentData(", "if len > 1_000_000, let unseen = sender.sentData("),
    ("window-update-not-captured-never", T + "WindowCheck.swift",
     "if Seq.gt(ack, held.edge) || Seq.ge(rightEdge, held.end) {", "if Seq.gt(ack, held.edge &+ 1_000_000) {"),
    ("paws-not-dropped", T + "EndpointMachine.swift",
     "        emitAbout(.pawsOldTsval, ctx, &out, expected: timestamps.recent, actual: v)\n        return .dropped(.paws)",
     "        emitAbout(.pawsOldTsval, ctx, &out, expected: timestamps.recent, actual: v)\n        return nil"),
    ("tsecr-never-checked", T + "EndpointMachine.swift",
     "if hasAck && echoesTimestampNeverSent(s) {", "if hasAck && echoesTimestampNeverSent(s) && false {"),
    ("synack-wrong-direction-as-simultaneous-open", T + "EndpointMachine.swift",
     "                if peerAnsweredSyn {\n", "                if peerAnsweredSyn && false {\n"),
    ("synsent-accepts-rst-without-ack", T + "EndpointMachine.swift",
     "            if !s.flags.contains(.ack) { return true }\n", "\n"),
    ("rst-bad-ack-never", T + "EndpointMachine.swift",
     "            if c == .rst {\n                emitAbout(.rstBadAck,", "            if c == .rst && false {\n                emitAbout(.rstBadAck,"),
    # Decoder.
    ("tcp-data-offset-in-bytes", "Sources/WireStateDecoder/PacketDecoder.swift",
     "let dataOffset = Int(tcp.u8(12) >> 4) * 4", "let dataOffset = Int(tcp.u8(12) >> 4) * 5"),
    ("ipv4-ihl-ignored", "Sources/WireStateDecoder/PacketDecoder.swift",
     "let headerLength = Int(versionIHL & 0x0f) * 4", "let headerLength = 20"),
    ("vlan-qinq-not-followed", "Sources/WireStateDecoder/PacketDecoder.swift",
     "while type == 0x8100 || type == 0x88a8 || type == 0x9100 {", "while type == 0x8100 {"),
    # Reporters.
    ("jsonl-evidence-swapped", "Sources/WireStateReport/JSONLinesWriter.swift",
     '",\\"client_evidence\\":\\"\\(c.clientEvidence.name)\\",\\"server_evidence\\":\\"\\(c.serverEvidence.name)\\""',
     '",\\"client_evidence\\":\\"\\(c.serverEvidence.name)\\",\\"server_evidence\\":\\"\\(c.clientEvidence.name)\\""'),
    ("totals-ends-client-only", "Sources/WireStateReport/RunTotals.swift",
     "ends[Int(c.clientState.rawValue) * TCPState.allCases.count + Int(c.serverState.rawValue)] += 1",
     "ends[Int(c.clientState.rawValue) * TCPState.allCases.count + Int(c.clientState.rawValue)] += 1"),
    # Check.
    ("check-evidence-not-compared", "Sources/WireStateCheck/Evaluator.swift",
     "                if !p.matches(seen.name) {\n                    let w = c.finalStateWhere(role)",
     "                if false {\n                    let w = c.finalStateWhere(role)"),
    ("check-always-passes", "Sources/WireStateCheck/Checker.swift",
     "return mismatches.isEmpty ? .passed : .failed", "return .passed"),
    ("junit-failures-zero", "Sources/WireStateCheck/JUnitWriter.swift",
     "x += \"  <testsuite name=\\(Self.attr(suiteName)) tests=\\\"\\(outcomes.count)\\\" failures=\\\"\\(failures)\\\" \"",
     "x += \"  <testsuite name=\\(Self.attr(suiteName)) tests=\\\"\\(outcomes.count)\\\" failures=\\\"0\\\" \""),
]


def sh(cmd, cwd, log):
    with open(log, "w") as f:
        return subprocess.call(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scratch", default="/tmp/wirestate-mutants")
    ap.add_argument("--filter", default=None, help="swift test --filter REGEX (default: whole suite)")
    ap.add_argument("--only", nargs="*", default=None)
    a = ap.parse_args()
    src = os.path.join(a.scratch, "tree")
    os.makedirs(a.scratch, exist_ok=True)
    # A clean copy of the tracked files; the scratch build dir survives between runs (incremental).
    if os.path.exists(src):
        shutil.rmtree(src)
    files = subprocess.check_output(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, text=True).split("\n")
    for rel in filter(None, files):
        if rel.startswith(".build") or not os.path.isfile(os.path.join(ROOT, rel)):
            continue
        dst = os.path.join(src, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), dst)
    build = os.path.join(a.scratch, "build")
    test = ["swift", "test", "--skip-build", "--scratch-path", build]
    if a.filter:
        test += ["--filter", a.filter]
    results = []
    for name, rel, old, new in MUTANTS:
        if a.only and name not in a.only:
            continue
        path = os.path.join(src, rel)
        text = open(path).read()
        if text.count(old) != 1:
            results.append((name, "stale", 0)); print(f"{name}\tstale", flush=True); continue
        open(path, "w").write(text.replace(old, new))
        t0 = time.time()
        log = os.path.join(a.scratch, name + ".log")
        rc = sh(["swift", "build", "--build-tests", "--scratch-path", build], src, log)
        verdict = "killed (build)" if rc != 0 else ("killed" if sh(test, src, log) != 0 else "survived")
        open(path, "w").write(text)
        results.append((name, verdict, int(time.time() - t0)))
        print(f"{name}\t{verdict}\t{int(time.time() - t0)}s", flush=True)
    with open(os.path.join(a.scratch, "results.tsv"), "w") as f:
        for r in results:
            f.write("\t".join(map(str, r)) + "\n")
    run = [r for r in results if r[1] != "stale"]
    killed = sum(1 for r in run if r[1].startswith("killed"))
    print(f"score: {killed}/{len(run)} killed; survivors: {[r[0] for r in run if r[1] == 'survived']}")
    print(f"stale: {[r[0] for r in results if r[1] == 'stale']}")


if __name__ == "__main__":
    sys.exit(main())

import Foundation
import Testing
import WireStateDecoder
@testable import WireStateTracker

/// One scenario per catalogue code that no capture in Captures/ produces: a short conversation that
/// must produce the code, and a near miss (the same conversation with the one fact that matters
/// changed) that must stay silent. A mutant that stops emitting a code, or emits it too eagerly,
/// fails here. Codes a capture produces are held by the `.expect` files that `check` verifies.
struct CodeScenario: Sendable, CustomTestStringConvertible {
    let code: AnomalyCode
    let produce: @Sendable (inout Wire) -> Void
    let nearMiss: @Sendable (inout Wire) -> Void
    var testDescription: String { code.code }

    static let all: [CodeScenario] = [
        CodeScenario(
            code: .ackNumberWithoutAckFlag,
            produce: { $0.c(.syn, seq: 1000, ack: 77) },
            nearMiss: { $0.c(.syn, seq: 1000, ack: 0) }),
        CodeScenario(
            code: .windowScaleOver14,
            produce: { $0.raw(true, .syn, seq: 1000, wscale: 15) },
            nearMiss: { $0.raw(true, .syn, seq: 1000, wscale: 14) }),
        CodeScenario(
            code: .malformedOption,
            produce: { $0.raw(true, .syn, seq: 1000, malformed: true) },
            nearMiss: { $0.raw(true, .syn, seq: 1000, malformed: false) }),
        CodeScenario(
            code: .finBeforeEstablished,
            produce: { w in
                w.c(.syn, seq: 1000); w.c([.fin, .ack], seq: 1001, ack: 5001)
            },
            nearMiss: { w in
                w.handshake(); w.c([.fin, .ack], seq: 1001, ack: 5001)
            }),
        CodeScenario(
            code: .finSeqChanged,
            produce: { w in
                w.handshake(); w.c([.fin, .ack], seq: 1001, ack: 5001)
                w.c([.fin, .ack], seq: 1011, ack: 5001)
            },
            nearMiss: { w in
                w.handshake(); w.c([.fin, .ack], seq: 1001, ack: 5001)
                w.c([.fin, .ack], seq: 1001, ack: 5001)
            }),
        CodeScenario(
            code: .finRetransmission,
            produce: { w in
                w.handshake(); w.c([.fin, .ack], seq: 1001, ack: 5001)
                w.c([.fin, .ack], seq: 1001, ack: 5001)
            },
            nearMiss: { w in
                w.handshake(); w.c([.fin, .ack], seq: 1001, ack: 5001)
                w.s(.ack, seq: 5001, ack: 1002)
            }),
        CodeScenario(
            code: .handshakeAckInvalid,
            produce: { w in
                w.c(.syn, seq: 1000); w.s([.syn, .ack], seq: 5000, ack: 1001)
                w.c(.ack, seq: 1001, ack: 9999)
            },
            nearMiss: { w in w.handshake() }),
        CodeScenario(
            code: .handshakeAckNotCaptured,
            produce: { w in
                w.c(.syn, seq: 1000); w.s([.syn, .ack], seq: 5000, ack: 1001)
                w.s(.ack, seq: 5001, ack: 1001, len: 10)
            },
            nearMiss: { w in
                w.handshake(); w.s(.ack, seq: 5001, ack: 1001, len: 10)
            }),
        CodeScenario(
            code: .rstWithData,
            produce: { w in
                w.handshake(); w.c([.rst, .ack], seq: 1001, ack: 5001, len: 5)
            },
            nearMiss: { w in
                w.handshake(); w.c([.rst, .ack], seq: 1001, ack: 5001)
            }),
        CodeScenario(
            code: .rstWithoutConnection,
            produce: { $0.c([.rst, .ack], seq: 1000, ack: 5000) },
            nearMiss: { w in
                w.handshake(); w.c([.rst, .ack], seq: 1001, ack: 5001)
            }),
        CodeScenario(
            code: .synAckChanged,
            produce: { w in
                w.c(.syn, seq: 1000); w.s([.syn, .ack], seq: 5000, ack: 1001)
                w.s([.syn, .ack], seq: 6000, ack: 1001)
            },
            nearMiss: { w in
                w.c(.syn, seq: 1000); w.s([.syn, .ack], seq: 5000, ack: 1001)
                w.s([.syn, .ack], seq: 5000, ack: 1001)
            }),
        // A SYN+ACK from an endpoint CLOSED by its own RST, which never received a SYN since.
        CodeScenario(
            code: .synAckWithoutSyn,
            produce: { w in
                w.handshake(); w.c([.rst, .ack], seq: 1001, ack: 5001)
                w.c([.syn, .ack], seq: 1001, ack: 5001, after: 1_000)
            },
            nearMiss: { w in
                w.c(.syn, seq: 1000); w.s([.syn, .ack], seq: 5000, ack: 1001)
                w.s([.syn, .ack], seq: 5000, ack: 1001)
            }),
        CodeScenario(
            code: .synAckWrongDirection,
            produce: { w in
                w.c(.syn, seq: 1000); w.c([.syn, .ack], seq: 1000, ack: 5001)
            },
            nearMiss: { w in
                w.c(.syn, seq: 1000); w.s([.syn, .ack], seq: 5000, ack: 1001)
            }),
        CodeScenario(
            code: .synIsnChanged,
            // A second client SYN with a new ISN is a new incarnation (port-reuse); inside a
            // simultaneous open the server's own second SYN with a new ISN is the finding.
            produce: { w in
                w.c(.syn, seq: 1000); w.s(.syn, seq: 5000); w.s(.syn, seq: 6000)
            },
            nearMiss: { w in
                w.c(.syn, seq: 1000); w.s(.syn, seq: 5000); w.s(.syn, seq: 5000)
            }),
        CodeScenario(
            code: .synNotCaptured,
            produce: { $0.s([.syn, .ack], seq: 5000, ack: 1001) },
            nearMiss: { w in
                w.c(.syn, seq: 1000); w.s([.syn, .ack], seq: 5000, ack: 1001)
            }),
        CodeScenario(
            code: .dataBeforeEstablished,
            produce: { w in
                w.c(.syn, seq: 1000); w.c(.psh, seq: 1001, len: 10)
            },
            nearMiss: { w in
                w.handshake(); w.c([.psh, .ack], seq: 1001, ack: 5001, len: 10)
            }),
        CodeScenario(
            code: .dataBeyondWindow,
            produce: { w in
                w.handshake(); w.c(.ack, seq: 1001, ack: 5001, len: 70_000)
            },
            nearMiss: { w in
                w.handshake(); w.c(.ack, seq: 1001, ack: 5001, len: 60_000)
            }),
        CodeScenario(
            code: .ackTooOld,
            produce: { w in
                w = WindowTests.serverSentMuchData(); w.c(.ack, seq: 1001, ack: 5001)
            },
            nearMiss: { w in
                w = WindowTests.serverSentMuchData(); w.c(.ack, seq: 1001, ack: 151_001 &- 65000)
            }),
        CodeScenario(
            code: .segmentAfterClose,
            produce: { w in
                w.handshake(); w.c([.rst, .ack], seq: 1001, ack: 5001)
                w.c(.ack, seq: 1001, ack: 5001, after: 1_000)
            },
            nearMiss: { w in
                w.handshake(); w.c(.ack, seq: 1001, ack: 5001, after: 1_000)
                w.c([.rst, .ack], seq: 1001, ack: 5001)
            }),
        CodeScenario(
            code: .oneSidedCapture,
            produce: { w in for i in UInt32(0)..<3 { w.c(.ack, seq: 1001 + 10 * i, ack: 5001, len: 10) } },
            nearMiss: { w in
                w.handshake()
                for i in UInt32(0)..<3 { w.c(.ack, seq: 1001 + 10 * i, ack: 5001, len: 10) }
            })
    ]
}

extension Wire {
    /// A segment with options the plain helpers do not set (window scale, a malformed option list).
    mutating func raw(
        _ fromClient: Bool, _ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0,
        wscale: UInt8? = nil, malformed: Bool = false
    ) {
        frame += 1
        time += 1_000_000
        var o = TCPOptions()
        o.windowScale = wscale; o.mss = 1460; o.malformed = malformed
        let s = TCPSegment(
            source: fromClient ? client : server, destination: fromClient ? server : client,
            sequence: seq, acknowledgment: ack, flags: flags, window: 65535, payloadLength: 0,
            options: o)
        tracker.process(s, frame: FrameRef(number: frame), time: time)
        events += tracker.events
        tracker.events.removeAll()
    }
}

@Suite struct CatalogueCodeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test(arguments: CodeScenario.all)
    func scenarioProducesItsCode(_ sc: CodeScenario) {
        var w = Wire()
        sc.produce(&w)
        _ = w.finish()
        #expect(w.anomalyCodes.contains(sc.code.code), "\(sc.code.code) not produced; got \(w.anomalyCodes)")
    }

    @Test(arguments: CodeScenario.all)
    func nearMissStaysSilent(_ sc: CodeScenario) {
        var w = Wire()
        sc.nearMiss(&w)
        _ = w.finish()
        #expect(!w.anomalyCodes.contains(sc.code.code), "near miss produced \(sc.code.code): \(w.anomalyCodes)")
    }

    /// Codes held elsewhere: a capture's `.expect` (checked against the capture by `check`) or a
    /// named test file that produces them. A new code must join one of the three or this fails.
    static let testedElsewhere: [AnomalyCode: String] = [
        .windowShrunk: "WindowShrinkTests.swift",
        .peerReturned: "ResetTests.swift"
    ]

    @Test func everyCodeIsProducedSomewhere() throws {
        let dir = Self.root.appendingPathComponent("Captures")
        var expectText = ""
        for f in try FileManager.default.contentsOfDirectory(atPath: dir.path) where f.hasSuffix(".expect") {
            expectText += try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8) + "\n"
        }
        let scenarioCodes = Set(CodeScenario.all.map(\.code))
        for code in AnomalyCode.allCases where !scenarioCodes.contains(code) {
            if let file = Self.testedElsewhere[code] {
                let text = try String(
                    contentsOf: Self.root.appendingPathComponent("Tests/WireStateTrackerTests/\(file)"),
                    encoding: .utf8)
                #expect(
                    text.contains(".\(code)") || text.contains("\"\(code.code)\""),
                    "\(file) does not mention \(code.code)")
            } else {
                #expect(expectText.contains(code.code), "no scenario, test or capture produces \(code.code)")
            }
        }
    }
}

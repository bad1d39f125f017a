import Foundation
import Testing
@testable import WireStateTracker

@Suite struct CatalogueTests {
    static let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/anomalies.md")

    @Test func atLeastThirtyKindsWithUniqueKebabCaseCodes() {
        let codes = AnomalyCode.allCases.map(\.code)
        #expect(codes.count >= 30)
        #expect(Set(codes).count == codes.count)
        for c in codes {
            #expect(c.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" }, "\(c) is not kebab-case")
            #expect(AnomalyCode(code: c)?.code == c)
        }
        #expect(Set(AnomalyCode.allCases.map(\.severity)) == Set(Severity.allCases))
    }

    @Test func everyCodeIsDocumentedWithItsSeverity() throws {
        let text = try String(contentsOf: Self.doc, encoding: .utf8)
        for code in AnomalyCode.allCases {
            #expect(
                text.contains("| `\(code.code)` | \(code.severity.name) |"),
                "docs/anomalies.md lacks a row for \(code.code) with severity \(code.severity.name)")
        }
    }

    @Test func everySentenceNamesItsEndpointOrBoth() {
        for code in AnomalyCode.allCases {
            let s = code.sentence(who: "client", expected: 1, actual: 2)
            #expect(!s.isEmpty)
            #expect(
                s.contains("client") || s.contains("both") || s.contains("connection") || s.contains("SYN")
                    || s.contains("incarnation") || s.contains("handshake"), "\(code.code): \(s)")
        }
    }

    @Test func rfcTableIsTheDiagram() {
        // A few cells, both ways: the diagram's edges are allowed, its absences are not.
        #expect(TCPState.rfcAllows(from: .finWait1, to: .closing))
        #expect(TCPState.rfcAllows(from: .synReceived, to: .listen))
        #expect(TCPState.rfcAllows(from: .established, to: .closed))
        #expect(!TCPState.rfcAllows(from: .closeWait, to: .closing))
        #expect(!TCPState.rfcAllows(from: .closed, to: .established))
        #expect(!TCPState.rfcAllows(from: .timeWait, to: .established))
        #expect(!TCPState.rfcAllows(from: .listen, to: .established))
    }
}

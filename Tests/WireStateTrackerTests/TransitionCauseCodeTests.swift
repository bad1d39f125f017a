import Testing
import WireStateTracker

/// Transition causes are written into JSON Lines and committed expectation files by code: the
/// codes are a file format. This list is that format; changing it must be deliberate.
@Suite struct TransitionCauseCodeTests {
    static let format = [
        "sent-syn", "sent-syn-ack", "sent-fin", "sent-rst", "sent-ack",
        "received-syn", "received-syn-ack", "received-fin", "received-rst", "received-ack",
        "presumed-listen", "assumed-midstream", "time-wait-expired", "implied-by-sent",
        "replaced-by-new-incarnation", "presumed-gone", "implied-by-peer", "withdrawn",
        "listener-keeps-no-connection"
    ]

    @Test func everyCauseHasItsFixedCode() {
        #expect(Set(TransitionCause.allCases.map(\.code)) == Set(Self.format))
        #expect(TransitionCause.allCases.count == Self.format.count, "codes are unique")
    }

    @Test func codesAreKebabCaseAndSentencesAreNot() {
        for c in TransitionCause.allCases {
            #expect(c.code.allSatisfy { $0.isLowercase || $0 == "-" }, "\(c.code)")
            #expect(c.name != c.code)
        }
    }
}

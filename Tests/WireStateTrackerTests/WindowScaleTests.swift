import Testing
@testable import WireStateTracker

/// `WindowScale` keeps RFC 7323's rule in one value: on only when both SYNs offered it, each side
/// by its own count, at most 14; unknowable when the capture hides it.
@Suite struct WindowScaleTests {
    static func settled(_ a: UInt8?, _ b: UInt8?, cutA: Bool = false) -> (WindowScale, WindowScale) {
        var x = WindowScale.initial, y = WindowScale.initial
        x.sawSyn(offering: a, first: true, optionsCut: cutA)
        y.sawSyn(offering: b, first: true, optionsCut: false)
        let (cx, cy) = (x, y)
        if cutA { x = .unknowable; y = .unknowable }
        x.settle(peerOffered: cy.offerSeenByPeer)
        y.settle(peerOffered: cx.offerSeenByPeer)
        return (x, y)
    }

    @Test func scalingNeedsBothOffersAndEachSideUsesItsOwn() {
        #expect(Self.settled(7, 2) == (.known(shift: 7), .known(shift: 2)))
        #expect(Self.settled(7, nil) == (.known(shift: 0), .known(shift: 0)))
        #expect(Self.settled(nil, 7) == (.known(shift: 0), .known(shift: 0)))
        #expect(Self.settled(0, 0) == (.known(shift: 0), .known(shift: 0)))
    }

    @Test func anOfferAbove14IsClampedTo14() {
        #expect(Self.settled(15, 3).0 == .known(shift: 14))
    }

    @Test func cutOptionsMakeBothUnknowable() {
        let (a, b) = Self.settled(7, 2, cutA: true)
        #expect(a == .unknowable && b == .unknowable)
        #expect(a.shift == nil && b.shift == nil)
    }

    @Test func onlyTheFirstSynsOfferCountsAndSettlingIsFinal() {
        var x = WindowScale.initial
        x.sawSyn(offering: 5, first: true, optionsCut: false)
        x.sawSyn(offering: 9, first: false, optionsCut: false)  // a retransmission
        x.settle(peerOffered: 1)
        #expect(x == .known(shift: 5))
        x.settle(peerOffered: nil)
        x.sawSyn(offering: 3, first: true, optionsCut: true)
        #expect(x == .known(shift: 5), "a settled scale never changes")
        #expect(WindowScale.unknowable.offerSeenByPeer == 0, "unknowable still means: offered")
    }
}

import Testing
import WireStateDecoder

@testable import WireStateTracker

/// `ConnectionStore`, the flow table's block storage: an array's behaviour (against a model array
/// of ids), value semantics, and blocks that follow the count down as well as up.
@Suite struct ConnectionStoreTests {
    static func connection(_ id: UInt64) -> Connection {
        let first = TCPSegment(
            source: SocketAddress(IPAddress(ipv4: 1), 1), destination: SocketAddress(IPAddress(ipv4: 2), 2),
            sequence: 0, acknowledgment: 0, flags: .syn, window: 0)
        let ref = ConnectionRef(id: id, incarnation: 1)
        return Connection(first: first, ref: ref, clientIsSource: true, guessed: false, StepContext(ref: ref, frame: nil, time: 0))
    }

    @Test func behavesLikeAnArrayAcrossBlocks() {
        var store = ConnectionStore()
        var model: [UInt64] = []
        var rng = SplitMix64(state: 11)
        var next: UInt64 = 1
        for round in 0..<30_000 {
            let grow = round < 15_000 ? 3 : 1  // up past several blocks, then down again
            switch Int.random(in: 0..<(grow + 2), using: &rng) {
            case 0 where !model.isEmpty:
                let i = Int.random(in: 0..<model.count, using: &rng)
                if i == model.count - 1 {
                    store.removeLast()
                    model.removeLast()
                } else {
                    store.moveLast(to: i)
                    model[i] = model.removeLast()
                }
            case 1 where !model.isEmpty:
                let i = Int.random(in: 0..<model.count, using: &rng)
                store[i].scheduled = Int64(model[i])  // in place, through _modify
                #expect(store[i].scheduled == Int64(model[i]))
            default:
                store.append(Self.connection(next))
                model.append(next)
                next += 1
            }
            #expect(store.count == model.count)
        }
        #expect(next > 10_000)
        #expect(store.map(\.ref.id) == model)
        // Blocks follow the count: at most one spare beyond what is held.
        let needed = (model.count + ConnectionStore.blockSize - 1) / ConnectionStore.blockSize
        #expect(store.blockCount <= needed + 1)
        while !model.isEmpty {
            store.removeLast()
            model.removeLast()
        }
        #expect(store.isEmpty)
        #expect(store.blockCount <= 1)
    }

    @Test func copiesAreIndependent() {
        var a = ConnectionStore()
        for id in 1...2_500 { a.append(Self.connection(UInt64(id))) }
        var b = a
        b[2_000].scheduled = 7
        b.moveLast(to: 0)
        a.append(Self.connection(9_999))
        #expect(a.count == 2_501 && b.count == 2_499)
        #expect(a[0].ref.id == 1 && b[0].ref.id == 2_500)
        #expect(a[2_000].scheduled == .max && b[2_000].scheduled == 7)
        #expect(a.last?.ref.id == 9_999)
    }
}

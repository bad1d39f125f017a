import Testing

@testable import WireStateReport

/// `ConnectionKey` replaces SipHash with one multiplication for the report's per-connection maps:
/// the maps must still behave as dictionaries, and consecutive ids (what the tracker hands out)
/// must spread over the buckets `Dictionary` takes from the low bits.
@Suite struct ConnectionKeyTests {
    @Test func aMapOfConnectionKeysBehavesLikeOneOfPlainIDs() {
        var keyed: [ConnectionKey: Int] = [:], plain: [UInt64: Int] = [:]
        var x: UInt64 = 0x1234_5678
        for step in 0..<60_000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // Mostly consecutive ids, as the tracker gives them, some far apart, some removed.
            let id = step % 7 == 0 ? x >> 3 : UInt64(step / 2)
            if step % 5 == 0 {
                #expect(keyed.removeValue(forKey: ConnectionKey(id)) == plain.removeValue(forKey: id))
            } else {
                keyed[ConnectionKey(id), default: 0] += step
                plain[id, default: 0] += step
            }
        }
        #expect(keyed.count == plain.count)
        for (id, v) in plain { #expect(keyed[ConnectionKey(id)] == v) }
        #expect(keyed[ConnectionKey(UInt64.max)] == nil)
    }

    @Test func consecutiveIDsFillEveryBucketOnce() {
        for seed in [0, 1, -7, 123_456_789] {
            let buckets = 1 << 12
            var seen = Set<Int>()
            for id in UInt64(1_000)..<UInt64(1_000 + buckets) {
                seen.insert(ConnectionKey(id)._rawHashValue(seed: seed) & (buckets - 1))
            }
            #expect(seen.count == buckets, "seed \(seed): \(seen.count) of \(buckets) buckets")
        }
    }
}

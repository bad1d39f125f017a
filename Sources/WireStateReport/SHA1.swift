/// SHA-1 (FIPS 180-4), only for the Community ID flow hash and connection uids: identifiers that
/// other tools recompute, not security. Small and pure so the reporters need no crypto package.
enum SHA1 {
    /// The digest of `message`. Every connection record hashes twice (its Community ID and its
    /// uid), so the padded message and the schedule live in stack buffers and the rounds run in
    /// four loops without a switch: arrays and the per-round switch made it a tenth of
    /// `--format jsonl`'s instructions.
    static func hash(_ message: [UInt8]) -> [UInt8] {
        let h = message.withUnsafeBytes { digest($0) }
        return [UInt8](unsafeUninitializedCapacity: 20) { out, n in
            for k in 0..<20 { out[k] = h.byte(k) }
            n = 20
        }
    }

    /// The five words of a digest; `byte(k)` reads them big-endian, as the digest's bytes.
    struct Digest {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32)

        @inline(__always)
        func byte(_ k: Int) -> UInt8 {
            let word: UInt32
            switch k >> 2 {
            case 0: word = h.0
            case 1: word = h.1
            case 2: word = h.2
            case 3: word = h.3
            default: word = h.4
            }
            return UInt8(truncatingIfNeeded: word >> UInt32(24 - 8 * (k & 3)))
        }
    }

    /// The digest of the bytes in `message`, without an array in or out: the JSON Lines writer
    /// hashes a stack buffer per connection (its Community ID and uid) and reads the words.
    static func digest(_ message: UnsafeRawBufferPointer) -> Digest {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        let total = (message.count + 8) / 64 * 64 + 64
        let bitLength = UInt64(message.count) &* 8
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: total) { m in
            for i in 0..<message.count { m[i] = message[i] }
            m[message.count] = 0x80
            for i in message.count + 1..<total - 8 { m[i] = 0 }
            for i in 0..<8 { m[total - 1 - i] = UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8)) }
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
                for chunk in stride(from: 0, to: total, by: 64) {
                    for i in 0..<16 {
                        let j = chunk + 4 * i
                        w[i] = UInt32(m[j]) << 24 | UInt32(m[j + 1]) << 16 | UInt32(m[j + 2]) << 8 | UInt32(m[j + 3])
                    }
                    for i in 16..<80 { w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
                    var (a, b, c, d, e) = h
                    for i in 0..<20 {
                        let t = rotl(a, 5) &+ ((b & c) | (~b & d)) &+ e &+ 0x5A82_7999 &+ w[i]
                        (e, d, c, b, a) = (d, c, rotl(b, 30), a, t)
                    }
                    for i in 20..<40 {
                        let t = rotl(a, 5) &+ (b ^ c ^ d) &+ e &+ 0x6ED9_EBA1 &+ w[i]
                        (e, d, c, b, a) = (d, c, rotl(b, 30), a, t)
                    }
                    for i in 40..<60 {
                        let t = rotl(a, 5) &+ ((b & c) | (b & d) | (c & d)) &+ e &+ 0x8F1B_BCDC &+ w[i]
                        (e, d, c, b, a) = (d, c, rotl(b, 30), a, t)
                    }
                    for i in 60..<80 {
                        let t = rotl(a, 5) &+ (b ^ c ^ d) &+ e &+ 0xCA62_C1D6 &+ w[i]
                        (e, d, c, b, a) = (d, c, rotl(b, 30), a, t)
                    }
                    h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
                }
            }
        }
        return Digest(h: h)
    }

    @inline(__always)
    static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }

    /// Lower-case hex (tests compare with published digests).
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }
}

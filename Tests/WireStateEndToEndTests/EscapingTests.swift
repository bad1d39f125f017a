import Testing
import WireStateCapture
import WireStateReport

@Suite struct EscapingTests {
    /// Any bytes survive the trip through a String and back: the name opened is the name given.
    @Test func osPathKeepsEveryByteSequence() {
        var state: UInt64 = 0x1234_5678
        for length in 0..<200 {
            var bytes: [UInt8] = []
            for _ in 0..<length % 23 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                bytes.append(UInt8(truncatingIfNeeded: state >> 56))
            }
            let s = OSPath.string(fromBytes: bytes)
            #expect(OSPath.bytes(s) == bytes, "\(bytes)")
        }
        #expect(OSPath.string(fromBytes: Array("café.pcap".utf8)) == "café.pcap", "valid UTF-8 is untouched")
        #expect(Escaped.text(OSPath.string(fromBytes: [0x61, 0xff, 0x62])) == "a\\xffb")
    }

    @Test func controlCharactersAreWrittenAsEscapes() {
        #expect(Escaped.text("plain name.pcap") == "plain name.pcap")
        #expect(Escaped.text("a\u{1b}[2Jb") == "a\\x1b[2Jb")
        #expect(Escaped.text("bell\u{07} del\u{7f} csi\u{9b}") == "bell\\x07 del\\x7f csi\\x9b")
        #expect(Escaped.text("tab\tkept") == "tab\tkept")
        #expect(Escaped.text("back\\slash\u{1b}") == "back\\\\slash\\x1b", "backslashes doubled once anything is escaped")
    }
}

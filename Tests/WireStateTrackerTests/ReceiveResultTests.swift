import Testing
import WireStateDecoder
@testable import WireStateTracker

/// What a receiver does with a segment is one `ReceiveResult` per RFC 9293 §3.10.7 step: these pin
/// the result of each step on the receiving endpoint itself, not only its visible effect.
@Suite struct ReceiveResultTests {
    static let client = SocketAddress(IPAddress("10.0.0.1")!, 40000)
    static let server = SocketAddress(IPAddress("10.0.0.2")!, 80)
    static let ctx = StepContext(ref: ConnectionRef(id: 1, incarnation: 1), frame: FrameRef(number: 9), time: 9)

    static func segment(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, len: UInt32 = 0) -> TCPSegment {
        TCPSegment(
            source: client, destination: server, sequence: seq, acknowledgment: ack, flags: flags,
            window: 65535, payloadLength: len, options: TCPOptions())
    }

    /// A connection after the segments `flagsAndSeqs` from the client and server (client ISN 1000,
    /// server ISN 5000).
    static func connection(_ segments: [(fromClient: Bool, TCPFlags, UInt32, UInt32)]) -> Connection {
        var out = StepOutput()
        var c: Connection?
        for (fromClient, flags, seq, ack) in segments {
            let s = TCPSegment(
                source: fromClient ? client : server, destination: fromClient ? server : client,
                sequence: seq, acknowledgment: ack, flags: flags, window: 65535, payloadLength: 0,
                options: TCPOptions())
            if c == nil {
                c = Connection(first: s, ref: ctx.ref, clientIsSource: true, guessed: false, ctx)
                c!.pickUp(s, fromClient: fromClient, ctx, &out)
            }
            c!.process(s, fromClient: fromClient, ctx, &out)
        }
        return c!
    }

    static let handshake: [(fromClient: Bool, TCPFlags, UInt32, UInt32)] =
        [(true, .syn, 1000, 0), (false, [.syn, .ack], 5000, 1001), (true, .ack, 1001, 5001)]

    /// The server receives `s` in ESTABLISHED (RCV.NXT 1001, window 65535).
    static func serverReceives(_ s: TCPSegment) -> (ReceiveResult, TCPState) {
        var server = connection(handshake).server
        var out = StepOutput()
        let result = server.received(s, ctx, &out)
        return (result, server.state)
    }

    @Test func anExactResetIsAccepted() {
        #expect(Self.serverReceives(Self.segment([.rst, .ack], seq: 1001, ack: 5001)) == (.accepted, .closed))
    }

    @Test func aResetInTheWindowIsChallenged() {
        #expect(Self.serverReceives(Self.segment(.rst, seq: 1500)) == (.challenged, .established))
    }

    @Test func aResetOutsideTheWindowIsDropped() {
        #expect(Self.serverReceives(Self.segment(.rst, seq: 1001 &+ 70_000)) == (.dropped(.outOfWindow), .established))
    }

    @Test func dataOutsideTheWindowIsDropped() {
        #expect(
            Self.serverReceives(Self.segment(.ack, seq: 1001 &+ 70_000, ack: 5001, len: 10))
                == (.dropped(.outOfWindow), .established))
    }

    @Test func aSynInTheWindowIsChallenged() {
        #expect(Self.serverReceives(Self.segment(.syn, seq: 1001)) == (.challenged, .established))
    }

    @Test func dataWithoutAckIsDropped() {
        #expect(Self.serverReceives(Self.segment(.psh, seq: 1001, len: 10)) == (.dropped(.noAck), .established))
    }

    @Test func aFinIsAcceptedAndMovesToCloseWait() {
        #expect(Self.serverReceives(Self.segment([.fin, .ack], seq: 1001, ack: 5001)) == (.accepted, .closeWait))
    }

    @Test func aResetWithoutAckInSynSentIsDropped() {
        var client = Self.connection([(true, .syn, 1000, 0)]).client
        var out = StepOutput()
        let rst = TCPSegment(
            source: Self.server, destination: Self.client, sequence: 0, acknowledgment: 0,
            flags: .rst, window: 0, payloadLength: 0, options: TCPOptions())
        #expect(client.received(rst, Self.ctx, &out) == .dropped(.resetWithoutAck))
        #expect(client.state == .synSent)
    }
}

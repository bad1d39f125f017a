/// Why the tracker produced a run of events: the part of the one-run order a merge of shard runs
/// must reproduce (`wirestate merge`, docs/scaling.md).
///
/// One run's events come, for each TCP segment, first from the deadlines that came due (in order
/// of deadline time, then connection number: `DeadlineQueue.before`), then from the segment's own
/// connection; when an input ends, from the deadlines due at the last time seen, then from every
/// held connection in order of connection number (`finishSome`). Each shard run produces its own
/// connections' part of that sequence in the same order, so knowing the origin of every event is
/// enough to interleave the shards exactly.
public struct EventOrigin: Sendable, Equatable {
    /// The index in `ConnectionTracker.events` of the first event of this run; the run ends where
    /// the next origin begins.
    public var firstEvent: Int
    public var kind: Kind

    public enum Kind: Sendable, Equatable {
        /// A held connection's deadline (TIME_WAIT expiry, the linger after close) came due: the
        /// deadline time of the queue entry, not the time of the segment that revealed it.
        case deadline(Int64)
        /// The idle timeout ended a connection (live capture only).
        case idle
        /// The segment's own connection.
        case segment
        /// The input ended and a held connection was reported.
        case end
    }

    public init(firstEvent: Int, kind: Kind) {
        self.firstEvent = firstEvent
        self.kind = kind
    }
}

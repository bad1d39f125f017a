import WireStateReport

/// A text sink that keeps nothing but a byte count, so reporters run in full (every string is
/// built and handed over) while memory stays flat over millions of inputs. The count is read by
/// the targets, so the writes cannot be optimised away.
public struct DiscardSink: TextSink {
    public private(set) var bytes = 0
    public private(set) var flushes = 0

    public init() {}

    public mutating func write(_ text: String) { bytes &+= text.utf8.count }
    public mutating func flush() { flushes &+= 1 }
}

/// Where reporters write. The CLI hands in standard output; tests hand in a string.
/// Nothing below the CLI prints on its own.
public protocol TextSink {
    mutating func write(_ text: String)
    /// Push what was written to its destination (live output flushes per event).
    mutating func flush()
}

extension TextSink {
    public mutating func flush() {}
}

/// Collects text in memory.
public struct StringSink: TextSink {
    public var text = ""
    public init() {}
    public mutating func write(_ s: String) { text += s }
}

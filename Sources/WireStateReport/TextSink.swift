/// Where reporters write. The CLI hands in standard output; tests hand in a string.
/// Nothing below the CLI prints on its own.
public protocol TextSink {
    mutating func write(_ text: String)
    /// Push what was written to its destination (live output flushes per event).
    mutating func flush()
    /// UTF-8 bytes (JSON Lines records are built as bytes; a sink that buffers bytes takes them
    /// without a String in between).
    mutating func write(utf8: [UInt8])
    /// The same, borrowed: a record built in `JSONLine`'s buffer goes to the sink's own buffer
    /// without an array in between.
    mutating func write(bytes: UnsafeRawBufferPointer)
    /// Nothing more can be written (the pager quit, the disk is full): a long report stops
    /// making what nobody can read.
    var isClosed: Bool { get }
}

extension TextSink {
    public mutating func flush() {}
    public var isClosed: Bool { false }
    public mutating func write(utf8: [UInt8]) { write(String(decoding: utf8, as: UTF8.self)) }
    public mutating func write(bytes: UnsafeRawBufferPointer) { write(String(decoding: bytes, as: UTF8.self)) }
}

/// Collects text in memory.
public struct StringSink: TextSink {
    public var text = ""
    public init() {}
    public mutating func write(_ s: String) { text += s }
}

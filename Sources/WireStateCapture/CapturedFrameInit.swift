extension CapturedFrame {
    /// A frame from somewhere other than libpcap: packet sources outside this module (the fuzz
    /// harness's scripted captures, tests) hand frames to the same `Pipeline` through it. The
    /// captured length is the bytes' count; the wire length is whatever the source claims.
    public init(number: UInt64, time: Int64, bytes: UnsafeRawBufferPointer, wireLength: Int) {
        self.init(
            number: number, timestampNanos: time, capturedLength: bytes.count, wireLength: wireLength,
            bytes: bytes)
    }
}

/// Anything that yields captured frames: a saved file or a live interface.
/// The pipeline is generic over it, so the per-packet call is static, not an existential.
public protocol PacketSource: AnyObject {
    /// File path or interface name, for messages.
    var name: String { get }
    /// libpcap's DLT for the frames.
    var dataLinkType: Int32 { get }
    var dataLinkName: String { get }
    /// The next frame, nil at the end (or when stopped); throws on damage.
    func next() throws(CaptureError) -> CapturedFrame?
    /// Bytes of the input read so far and its size, when known (progress lines).
    var progressBytes: (read: Int64, total: Int64?)? { get }
}

extension PacketSource {
    public var progressBytes: (read: Int64, total: Int64?)? { nil }
}

extension PcapFile: PacketSource {
    public var name: String { path }
    public var progressBytes: (read: Int64, total: Int64?)? { (bytesRead, fileSize) }
}

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
}

extension PcapFile: PacketSource {
    public var name: String { path }
}

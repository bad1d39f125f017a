extension LinkType {
    /// The one sentence for a link type WireState does not decode, for files and live captures
    /// alike. `name` is libpcap's (`DOCSIS`), or already `DLT 147` when libpcap has none, which is
    /// then not repeated.
    public static func unsupportedMessage(name: String, dlt: Int32) -> String {
        let label = name == "DLT \(dlt)" ? name : "\(name) (DLT \(dlt))"
        return "unsupported link type \(label); supported: " + allCases.map(\.name).joined(separator: ", ")
    }
}

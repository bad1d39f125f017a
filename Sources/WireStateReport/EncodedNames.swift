import WireStateTracker

/// The JSON spelling of every case of a small enum, encoded once as UTF-8, so that a record
/// appends a state, role, evidence, cause or code name with one copy of its bytes.
///
/// Why: a JSON Lines record names four to eight enum cases, and each `rawString(x.name)` made
/// the name's `String`, copied it out to the stack (`withUTF8`) and then into the record: 60
/// instructions a name and a tenth of the writer's `memcpy` calls (callgrind). The enums' own
/// `name`/`code` stay the one place each spelling is written; this table is built from them.
///
/// Plain pointers, not arrays: the tables live as long as the process (`JSONNames.shared` builds
/// each once and never frees it), so appending a name costs no reference counting (arrays here
/// cost a retain and a release per name, more than the copies they saved).
struct EncodedNames: @unchecked Sendable {
    private let bytes: UnsafeMutablePointer<UInt8>
    /// By raw value r: the case's bytes are `bytes[offsets[r] ..< offsets[r + 1]]`.
    private let offsets: UnsafeMutablePointer<Int32>
    private let size: Int

    /// `spelling` of each case, as is (`quoted: false`) or as a JSON string literal with its
    /// quotes and escapes (`Format.json`).
    init<E: CaseIterable & RawRepresentable>(_: E.Type, quoted: Bool = false, _ spelling: (E) -> String)
    where E.RawValue == UInt8 {
        size = (E.allCases.map { Int($0.rawValue) }.max() ?? -1) + 1
        var spelled = [[UInt8]](repeating: [], count: size)
        for e in E.allCases { spelled[Int(e.rawValue)] = Array((quoted ? Format.json(spelling(e)) : spelling(e)).utf8) }
        let all = spelled.flatMap { $0 }
        bytes = .allocate(capacity: max(all.count, 1))
        bytes.initialize(from: all, count: all.count)
        offsets = .allocate(capacity: size + 1)
        var at: Int32 = 0
        for r in 0..<size {
            offsets[r] = at
            at += Int32(spelled[r].count)
        }
        offsets[size] = at
    }

    /// The bytes of the case with raw value `raw` (none for a value no case has).
    @inline(__always)
    func bytes(_ raw: UInt8) -> UnsafeRawBufferPointer {
        let r = Int(raw)
        guard r < size else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let start = Int(offsets[r])
        return UnsafeRawBufferPointer(start: bytes + start, count: Int(offsets[r + 1]) - start)
    }
}

/// The tables a JSON Lines record takes its names from, built once per process.
final class JSONNames: Sendable {
    let state = EncodedNames(TCPState.self) { $0.name }
    let role = EncodedNames(Role.self) { $0.name }
    let evidence = EncodedNames(Evidence.self) { $0.name }
    let causeCode = EncodedNames(TransitionCause.self) { $0.code }
    /// The cause's sentence, quoted and escaped as `JSONLine.string` writes it.
    let causeSentence = EncodedNames(TransitionCause.self, quoted: true) { $0.name }
    let anomalyCode = EncodedNames(AnomalyCode.self) { $0.code }
    let severity = EncodedNames(Severity.self) { $0.name }
    let zeekState = EncodedNames(ZeekConnState.self) { $0.name }

    static let shared = JSONNames()
}

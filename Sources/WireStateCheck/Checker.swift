import WireStateDecoder
import WireStateTracker

/// A capture and the expectation file beside it.
public struct CheckTarget: Sendable, Equatable {
    public var capture: String
    public var expectation: String
    /// The directory rules files (`wirestate.rules`) that apply, nearest first: the capture's own
    /// directory, then each ancestor up to the path named on the command line.
    public var rulesFiles: [String]

    public init(capture: String, expectation: String, rulesFiles: [String] = []) {
        self.capture = capture
        self.expectation = expectation
        self.rulesFiles = rulesFiles
    }
}

/// What became of one capture (or of one path that could not be used).
public struct CaptureOutcome: Sendable, Equatable {
    public enum Status: String, Sendable { case passed, failed, error }
    public enum UpdateAction: String, Sendable { case created, updated, unchanged }

    public var capture: String
    /// The expectation file's path (nil for a path that is not a capture).
    public var expectation: String?
    /// Whether the expectation file existed when the check ran (or was written by --update).
    public var hasExpectationFile = false
    public var mismatches: [Mismatch] = []
    public var errors: [CheckError] = []
    public var update: UpdateAction?
    /// How many connections the capture has (nil when it could not be read).
    public var connections: Int?
    public var seconds: Double = 0

    public init(capture: String, expectation: String?) {
        self.capture = capture
        self.expectation = expectation
    }

    public var status: Status {
        if !errors.isEmpty { return .error }
        return mismatches.isEmpty ? .passed : .failed
    }

    /// Where the fact or rule behind a mismatch is written: a rules file or the expectation file with
    /// its line; the capture itself, without a line, when it has no expectation file.
    public func location(_ m: Mismatch) -> (file: String, line: Int?) {
        if let f = m.file { return (f, m.line) }
        if hasExpectationFile, let e = expectation { return (e, m.line) }
        return (capture, nil)
    }

    /// `Captures/x.expect:12`, or the capture's path without a line.
    public func locationText(_ m: Mismatch) -> String {
        let l = location(m)
        return l.file + (l.line.map { ":\($0)" } ?? "")
    }
}

/// Finds captures under paths, and checks (or updates) each against its expectation file.
public enum Checker {
    /// File name endings that mark a capture.
    public static let captureExtensions = ["pcap", "pcapng", "cap"]
    public static let expectationExtension = "expect"

    public struct Options: Sendable {
        public var update: Bool
        /// `--pin-ports`: `--update` writes client ports as numbers rather than `*`.
        public var pinPorts: Bool
        public var configuration: ConnectionTracker.Configuration
        public var tunnelPorts: TunnelPorts

        public init(
            update: Bool = false, pinPorts: Bool = false, configuration: ConnectionTracker.Configuration = .init(),
            tunnelPorts: TunnelPorts = TunnelPorts()
        ) {
            self.update = update
            self.pinPorts = pinPorts
            self.configuration = configuration
            self.tunnelPorts = tunnelPorts
        }
    }

    /// The captures to check, the paths that could not be used, and notes (stray expectation files).
    public struct Discovery: Sendable {
        public enum Entry: Sendable, Equatable {
            case target(CheckTarget)
            /// A path that cannot be checked; its outcome is an error.
            case problem(CaptureOutcome)
        }
        /// In command-line order, directories' captures in name order.
        public var entries: [Entry] = []
        public var notes: [String] = []

        public var targets: [CheckTarget] {
            entries.compactMap { if case .target(let t) = $0 { return t } else { return nil } }
        }
        public var problems: [CaptureOutcome] {
            entries.compactMap { if case .problem(let p) = $0 { return p } else { return nil } }
        }
    }

    // MARK: Paths

    static func splitExtension(_ path: String) -> (stem: String, ext: String?) {
        let nameStart = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        guard let dot = path[nameStart...].lastIndex(of: "."), dot > nameStart else { return (path, nil) }
        return (String(path[..<dot]), String(path[path.index(after: dot)...]))
    }

    public static func isCapture(_ path: String) -> Bool {
        splitExtension(path).ext.map { captureExtensions.contains($0.lowercased()) } ?? false
    }

    /// `dir/login.pcap` → `dir/login.expect`.
    public static func expectationPath(for capture: String) -> String {
        splitExtension(capture).stem + "." + expectationExtension
    }

    static func join(_ dir: String, _ name: String) -> String {
        dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }

    static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// Expands the command line's paths: files are taken as captures (an `.expect` file stands for the
    /// capture beside it), directories are searched recursively (hidden ones skipped), in name order.
    public static func discover(_ paths: [String]) -> Discovery {
        var d = Discovery()
        // Captures and problems in command-line order; captures are paired and de-duplicated below.
        var items: [Discovery.Entry] = []
        func capture(_ path: String, _ rules: [String]) {
            items.append(.target(CheckTarget(capture: path, expectation: expectationPath(for: path), rulesFiles: rules)))
        }
        /// A file named on the command line: its own directory is the checked root.
        func rulesBeside(_ path: String) -> [String] {
            let dir = path.lastIndex(of: "/").map { String(path[...$0]) } ?? ""
            return rulesFile(in: dir.isEmpty ? "." : dir).map { [$0] } ?? []
        }
        func fail(_ path: String, _ message: String) { items.append(.problem(problem(path, message))) }
        for path in paths {
            switch FileSystem.kind(path) {
            case .missing:
                fail(path, "no such file or directory")
            case .file:
                let (stem, ext) = splitExtension(path)
                if ext == expectationExtension {
                    if let c = captureExtensions.map({ stem + "." + $0 }).first(where: { FileSystem.kind($0) == .file }) {
                        capture(c, rulesBeside(c))
                    } else {
                        fail(
                            path,
                            "no capture (\(captureExtensions.map { "." + $0 }.joined(separator: ", "))) "
                                + "beside this expectation file")
                    }
                } else {
                    capture(path, rulesBeside(path))
                }
            case .directory:
                var found: [(String, [String])] = [], expects: [String] = [], problems: [CaptureOutcome] = []
                walk(path, rules: [], &found, &expects, &problems)
                items += problems.map { .problem($0) }
                if found.isEmpty && problems.isEmpty {
                    fail(
                        path,
                        "no captures (\(captureExtensions.map { "*." + $0 }.joined(separator: ", "))) "
                            + "in this directory or below it")
                }
                let stems = Set(found.map { splitExtension($0.0).stem })
                for e in expects where !stems.contains(splitExtension(e).stem) {
                    d.notes.append("\(e): no capture beside this expectation file; it is not checked")
                }
                for (c, rules) in found { capture(c, rules) }
            case .other:
                fail(path, "not a regular file or directory")
            }
        }
        var seenCaptures = Set<String>()
        var owners: [String: String] = [:]
        for item in items {
            guard case .target(let t) = item else { d.entries.append(item); continue }
            guard seenCaptures.insert(t.capture).inserted else { continue }
            if let other = owners[t.expectation] {
                d.entries.append(
                    .problem(
                        problem(
                            t.capture,
                            "\(other) and \(t.capture) would share the expectation "
                                + "file \(t.expectation); rename one of them")))
                continue
            }
            owners[t.expectation] = t.capture
            d.entries.append(item)
        }
        return d
    }

    /// `dir/wirestate.rules` when it is a file.
    static func rulesFile(in dir: String) -> String? {
        let path = join(dir, ExpectationParser.rulesFileName)
        return FileSystem.kind(path) == .file ? path : nil
    }

    /// Collects the captures below `dir`, each with the rules files that apply to it (`rules` are
    /// the ancestors' files, nearest first; this directory's own file goes in front).
    static func walk(
        _ dir: String, rules inherited: [String], _ captures: inout [(String, [String])], _ expects: inout [String],
        _ problems: inout [CaptureOutcome]
    ) {
        let names: [String]
        do throws(CheckError) { names = try FileSystem.list(dir) } catch {
            problems.append(CaptureOutcome.problem(error))
            return
        }
        let rules = (rulesFile(in: dir).map { [$0] } ?? []) + inherited
        for name in names where !name.hasPrefix(".") {
            let path = join(dir, name)
            switch FileSystem.kind(path) {
            case .directory:
                if !FileSystem.isSymbolicLink(path) { walk(path, rules: rules, &captures, &expects, &problems) }
            case .file:
                if isCapture(name) {
                    captures.append((path, rules))
                } else if splitExtension(name).ext == expectationExtension {
                    expects.append(path)
                }
            default:
                continue
            }
        }
    }

    static func problem(_ path: String, _ message: String) -> CaptureOutcome {
        CaptureOutcome.problem(CheckError(file: path, message: message))
    }

    // MARK: Checking

    /// Checks one capture; with `options.update`, first writes its expectation file from what is seen
    /// (keeping rules and comments; refusing when that would lose facts written by hand), then checks
    /// the rules. The rules of `target.rulesFiles` are checked after the file's own.
    public static func check(_ target: CheckTarget, options: Options = .init()) -> CaptureOutcome {
        // Timed out here: a `defer` that set it inside would run after the outcome was returned.
        let clock = ContinuousClock()
        let start = clock.now
        var outcome = untimedCheck(target, options: options)
        let d = clock.now - start
        outcome.seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return outcome
    }

    static func untimedCheck(_ target: CheckTarget, options: Options) -> CaptureOutcome {
        var outcome = CaptureOutcome(capture: target.capture, expectation: target.expectation)
        var text: String? = nil
        var file: ExpectationFile? = nil
        switch FileSystem.kind(target.expectation) {
        case .missing:
            break
        case .file:
            outcome.hasExpectationFile = true
            do {
                text = try FileSystem.read(target.expectation)
                file = try ExpectationParser.parse(text!, path: target.expectation)
            } catch let e as CheckError {
                outcome.errors.append(e)
            } catch let e as ExpectationSyntaxErrors {
                outcome.errors += e.errors
            } catch {
                outcome.errors.append(CheckError(file: target.expectation, message: "\(error)"))
            }
        case .directory, .other:
            outcome.hasExpectationFile = true
            outcome.errors.append(CheckError(file: target.expectation, message: "the expectation file is not a regular file"))
        }
        var directoryRules: [(path: String, rules: [Rule])] = []
        for path in target.rulesFiles {
            do {
                directoryRules.append((path, try ExpectationParser.parseRules(try FileSystem.read(path), path: path)))
            } catch let e as CheckError {
                outcome.errors.append(e)
            } catch let e as ExpectationSyntaxErrors {
                outcome.errors += e.errors
            } catch {
                outcome.errors.append(CheckError(file: path, message: "\(error)"))
            }
        }
        let seen: SeenCapture
        switch Observer.observe(
            capture: target.capture, configuration: options.configuration,
            tunnelPorts: options.tunnelPorts)
        {
        case .success(let s): seen = s
        case .failure(let e):
            outcome.errors.append(e)
            return outcome
        }
        outcome.connections = seen.connections.count
        guard outcome.errors.isEmpty else { return outcome }

        if options.update {
            if let file, let refusal = ExpectationWriter.refusal(file, path: target.expectation) {
                outcome.errors.append(refusal)
                return outcome
            }
            let newText = ExpectationWriter.updated(
                file, seen: seen, captureName: baseName(target.capture), pinPorts: options.pinPorts)
            if newText == text {
                outcome.update = .unchanged
            } else {
                do throws(CheckError) { try FileSystem.write(target.expectation, newText) } catch {
                    outcome.errors.append(error)
                    return outcome
                }
                outcome.update = file == nil ? .created : .updated
                outcome.hasExpectationFile = true
            }
            do throws(ExpectationSyntaxErrors) {
                file = try ExpectationParser.parse(newText, path: target.expectation)
            } catch {
                outcome.errors += error.errors.map {
                    var e = $0
                    e.message = "internal error, the written file does not read back: " + e.message
                    return e
                }
                return outcome
            }
        }
        if let file {
            outcome.mismatches = Evaluator.evaluate(file, seen)
        } else {
            outcome.mismatches.append(
                Mismatch(
                    message: "expected an expectation file \(target.expectation), seen none; "
                        + "`wirestate check --update \(target.capture)` writes it from what the capture shows"))
        }
        // The directory's rules after the capture's own, nearest directory first.
        for d in directoryRules { outcome.mismatches += Evaluator.rules(d.rules, seen, source: d.path) }
        return outcome
    }
}

extension CaptureOutcome {
    static func problem(_ e: CheckError) -> CaptureOutcome {
        var o = CaptureOutcome(capture: e.file, expectation: nil)
        o.errors = [e]
        return o
    }
}

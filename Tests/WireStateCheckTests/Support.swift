import Foundation
import Testing
@testable import WireStateCheck

/// Paths, temporary copies of the committed captures, and running the built `wirestate` binary.
enum Support {
    /// The package root, from this file's place in Tests/WireStateCheckTests/.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let captures = root.appendingPathComponent("Captures")

    static func capture(_ name: String) -> String { captures.appendingPathComponent(name).path }

    /// A fresh directory holding copies of the named captures from Captures/ (no expectation files).
    static func temporaryCopy(of names: [String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("wirestate-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for n in names {
            try FileManager.default.copyItem(at: captures.appendingPathComponent(n), to: dir.appendingPathComponent(n))
        }
        return dir
    }

    static func read(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    static func write(_ text: String, to url: URL) throws { try text.write(to: url, atomically: true, encoding: .utf8) }

    /// The `wirestate` executable of the build that runs these tests: beside the test bundle first (whatever
    /// the scratch path), then the usual build directories of the package.
    static func binary() throws -> URL {
        var dirs: [URL] = []
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        dirs.append(exe.deletingLastPathComponent())
        if let arg0 = CommandLine.arguments.first {
            dirs.append(URL(fileURLWithPath: arg0).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        dirs.append(Bundle.main.bundleURL)
        dirs.append(Bundle.main.bundleURL.deletingLastPathComponent())
        let scratch =
            (try? FileManager.default.contentsOfDirectory(atPath: root.path))?
            .filter { $0.hasPrefix(".build") }.sorted() ?? []
        for s in scratch { dirs.append(root.appendingPathComponent(s).appendingPathComponent("debug")) }
        for d in dirs {
            let candidate = d.appendingPathComponent("wirestate")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw SupportError("the wirestate binary was not found beside the tests (\(dirs.map(\.path))); run `swift build` first")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var all: String { stdout + stderr }
    }

    /// Runs `wirestate ARGS` in `directory` with GITHUB_ACTIONS set or unset as asked.
    static func run(_ arguments: [String], in directory: URL? = nil, githubActions: Bool = false) throws -> Result {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        env["GITHUB_ACTIONS"] = githubActions ? "true" : nil
        process.environment = env
        let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("wirestate-out-\(UUID().uuidString)")
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("wirestate-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        return Result(status: process.terminationStatus, stdout: try read(outURL), stderr: try read(errURL))
    }
}

struct SupportError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

import Foundation
import Testing

/// The README's pasted `wirestate analyze` and `diagnose` examples must be what the tool prints today.
@Suite struct ReadmeTests {
    struct Example: Sendable, CustomStringConvertible {
        var arguments: [String]
        var lines: [String]
        var description: String { arguments.joined(separator: " ") }
    }

    static func examples() -> [Example] {
        let url = WireStateBinary.repo.appendingPathComponent("README.md")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        var out: [Example] = []
        let blocks = text.components(separatedBy: "```\n$ wirestate ").dropFirst()
        for block in blocks {
            guard let end = block.range(of: "```") else { continue }
            var lines = block[..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let command = lines.removeFirst()
            // Only analyze and diagnose examples without annotations: live needs a network, check an edited file.
            guard command.hasPrefix("analyze ") || command.hasPrefix("diagnose "), !command.contains("#") else { continue }
            out.append(
                Example(
                    arguments: command.split(separator: " ").map(String.init),
                    lines: lines.filter { !$0.isEmpty && $0 != "…" }))
        }
        return out
    }

    @Test func thereAreExamples() { #expect(Self.examples().count >= 5) }

    @Test(arguments: examples())
    func exampleOutputIsCurrent(_ example: Example) throws {
        let r = try WireStateBinary.run(example.arguments)
        let printed = r.stderr + r.stdout
        for line in example.lines {
            #expect(printed.contains(line), "README line no longer printed by `wirestate \(example)`: \(line)")
        }
    }
}

import ArgumentParser
import WireStateCapture

@main
struct WireStateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wirestate",
        abstract: "Reconstruct both endpoints' RFC 9293 TCP states from packet captures, with proof.",
        discussion: """
            Every TCP connection is run through two mirrored RFC 9293 state machines, one per endpoint.
            Each state carries its evidence (observed, inferred, unknown) and every illegal transition
            is reported with the frame that proves it.
            Exit status: 0 when every input was read to its end, 2 on errors or damaged input.
            """,
        version: "0.1.0",
        subcommands: [Analyze.self, Diagnose.self, Check.self, Live.self, Interfaces.self, Diagram.self, Merge.self]
    )

    /// Parses the arguments with their bytes kept: a file name need not be UTF-8 (`OSPath`).
    static func main() {
        let arguments = Array(OSPath.arguments().dropFirst())
        if let help = Examples.help(for: arguments) {
            print(help, terminator: "")
            Self.exit()
        }
        main(arguments)
    }
}

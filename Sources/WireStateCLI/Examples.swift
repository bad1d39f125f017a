import ArgumentParser

/// The EXAMPLES that end each subcommand's --help: the commands a new user types first.
/// (swift-argument-parser prints a discussion before the options, so they are appended here.)
enum Examples {
    /// `wirestate SUB --help` (or `-h`, or `wirestate help SUB`): the parser's help with EXAMPLES
    /// after it; nil for anything else, which the parser handles as usual.
    static func help(for arguments: [String]) -> String? {
        var words = arguments
        if words.first == "help" { words.removeFirst(); words.append("--help") }
        guard words.contains("--help") || words.contains("-h"), let first = words.first else { return nil }
        let table: [(names: [String], command: ParsableCommand.Type, examples: String)] = [
            (["analyze", "analyse"], Analyze.self, analyze), (["diagnose"], Diagnose.self, diagnose),
            (["check"], Check.self, check), (["live"], Live.self, live),
            (["interfaces"], Interfaces.self, interfaces), (["diagram"], Diagram.self, diagram)
        ]
        guard let entry = table.first(where: { $0.names.contains(first) }) else { return nil }
        var text = WireStateCommand.helpMessage(for: entry.command)
        while text.hasSuffix("\n") { text.removeLast() }
        return text + "\n" + entry.examples.dropFirst() + "\n"
    }

    static let analyze = """


        EXAMPLES:
          wirestate analyze capture.pcap                     summary first, then up to 50 connections
          wirestate analyze capture.pcap.zst                 compressed captures are read directly
          tcpdump -w - -i eth0 | wirestate analyze -         standard input
          wirestate analyze --state CLOSE_WAIT capture.pcap  only connections an endpoint left in CLOSE_WAIT
          wirestate analyze --connection 7 --timeline capture.pcap
          wirestate analyze --sort duration --limit 10 capture.pcap
          wirestate analyze --code rst-without-connection --anomalies capture.pcap
          wirestate analyze --format jsonl capture.pcap | jq 'select(.type=="connection")'
        """
    static let diagnose = """


        EXAMPLES:
          wirestate diagnose capture.pcap                    what is wrong, with evidence and next steps
          wirestate diagnose --stuck-after 10 capture.pcap   CLOSE_WAIT held 10 s or more counts as stuck
          wirestate diagnose --format jsonl capture.pcap     one diagnosis record per finding
        """
    static let check = """


        EXAMPLES:
          wirestate check Captures/                          every capture beside its .expect file
          wirestate check --update login.pcap                write or refresh login.expect
          wirestate check --junit report.xml captures/       for CI
          wirestate check --update --pin-ports login.pcap    keep the client ports as numbers
          echo 'rule no-connection server=CLOSE_WAIT' > captures/wirestate.rules
                                                             a rule for every capture below captures/
        """
    static let live = """


        EXAMPLES:
          sudo wirestate live -i eth0                        state changes as they happen
          sudo wirestate live -i 1 --filter 'tcp port 443'   the interface number `wirestate interfaces` prints
          sudo wirestate live -i lo --top                    a table of live connections
          sudo wirestate live -i eth0 -w saved.pcap -c 1000  keep what was seen; replay with analyze
          sudo wirestate live -i eth0 | jq .                 JSON Lines in a pipe
        """
    static let interfaces = """


        EXAMPLES:
          wirestate interfaces                               numbered, as `live -i N` takes them
        """
    static let diagram = """


        EXAMPLES:
          wirestate diagram capture.pcap --connection 3 -o conn3.svg
          wirestate diagram capture.pcap --connection 3 --format mermaid
          wirestate diagram capture.pcap --states -o states.svg
        """
}

import ArgumentParser

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Compare captures with their expectation files (not yet built).")
    func run() throws { throw ValidationError("check is not built yet") }
}

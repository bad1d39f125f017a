import ArgumentParser

struct Live: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Sniff an interface live (not yet built).")
    func run() throws { throw ValidationError("live is not built yet") }
}

struct Interfaces: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List capture devices (not yet built).")
    func run() throws { throw ValidationError("interfaces is not built yet") }
}

import Foundation
import Testing
@testable import WireStateReport
import WireStateDecoder

/// Real output of every capture, checked against docs/schema/*.json by a real JSON Schema
/// validator (python's jsonschema, through scripts/validate-jsonl.py). CI installs it; without
/// it these tests are disabled with a message saying so.
@Suite struct JSONSchemaTests {
    static func python(_ module: String) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import \(module)"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    static let hasValidator = python("jsonschema")
    static let hasCommunityID = python("communityid")

    static var captures: [String] {
        let dir = WireStateBinary.repo.appendingPathComponent("Captures")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted().map { "Captures/" + $0 }
    }

    /// Runs the validator on JSON Lines text; returns its status and output.
    static func validate(_ jsonl: String) throws -> (status: Int32, output: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("wirestate-\(UUID().uuidString).jsonl")
        try jsonl.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", WireStateBinary.repo.appendingPathComponent("scripts/validate-jsonl.py").path, file.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func everyCaptureIsThere() { #expect(Self.captures.count >= 20) }

    @Test(
        .enabled(if: hasValidator, "python3 -m pip install jsonschema to validate JSON Lines against docs/schema"),
        arguments: captures)
    func captureOutputMatchesTheSchemas(_ capture: String) throws {
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl", capture])
        #expect(r.status == 0)
        let v = try Self.validate(r.stdout)
        #expect(v.status == 0, "\(capture): \(v.output)")
        #expect(v.output.contains("connection "), "no connection records validated: \(v.output)")
    }

    /// Several files at once add `file` members: those must be allowed too.
    @Test(.enabled(if: hasValidator, "python3 -m pip install jsonschema to validate JSON Lines against docs/schema"))
    func allCapturesTogetherMatchTheSchemas() throws {
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl"] + Self.captures)
        let v = try Self.validate(r.stdout)
        #expect(v.status == 0, "\(v.output)")
        #expect(r.stdout.contains("\"first_frame_file\":") || r.stdout.contains("\"file\":"))
    }

    /// The validator itself rejects what breaks the schema (a test of the test).
    @Test(.enabled(if: hasValidator, "python3 -m pip install jsonschema to validate JSON Lines against docs/schema"))
    func validatorRejectsBrokenRecords() throws {
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl", "Captures/refused.pcap"])
        let broken = r.stdout.replacingOccurrences(of: "\"reset_by\":\"server\"", with: "\"reset_by\":\"nobody\"")
        #expect(broken != r.stdout)
        #expect(try Self.validate(broken).status != 0)
        let noSchema = r.stdout.replacingOccurrences(of: "\"schema\":1,", with: "")
        #expect(try Self.validate(noSchema).status != 0)
    }

    @Test func everyRecordCarriesSchemaOne() throws {
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl", "Captures/multi.pcap"])
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count > 10)
        for line in lines {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(o["schema"] as? Int == 1, "\(line)")
        }
    }

    /// Integer nanoseconds, the RFC 3339 text and the older epoch float all name the same instant.
    @Test func timesAgreeAcrossTheirThreeForms() throws {
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl", "Captures/client-close-nano.pcap"])
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        var checked = 0
        for line in r.stdout.split(separator: "\n") {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard let ns = (o["time_ns"] ?? o["start_ns"]) as? Int64,
                let text = (o["time_utc"] ?? o["start_utc"]) as? String
            else { continue }
            let seconds = ns / 1_000_000_000, frac = ns % 1_000_000_000
            #expect(text.hasSuffix(String(format: ".%09lldZ", frac)), "\(text) vs \(ns)")
            let date = try #require(f.date(from: String(text.prefix(19)) + "Z"))
            #expect(Int64(date.timeIntervalSince1970) == seconds)
            let epoch = try #require((o["time"] ?? o["start"]) as? Double)
            #expect(abs(epoch - Double(ns) / 1e9) < 1e-3)
            checked += 1
        }
        #expect(checked > 5)
    }

    @Test func rfc3339HandlesTimesBeforeTheEpochAndLeapDays() {
        #expect(Format.rfc3339(0) == "1970-01-01T00:00:00.000000000Z")
        #expect(Format.rfc3339(-1) == "1969-12-31T23:59:59.999999999Z")
        #expect(Format.rfc3339(951_782_400_000_000_123) == "2000-02-29T00:00:00.000000123Z")
        #expect(Format.zeekStamp(1_795_284_823_000_000_000) == "2026-11-21-18-13-43")
    }

    @Test func sha1MatchesFIPSVectors() {
        #expect(SHA1.hex(SHA1.hash([])) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hex(SHA1.hash(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(
            SHA1.hex(SHA1.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
    }

    /// The community-id-spec README's own example, both directions.
    @Test func communityIDMatchesTheSpecExample() throws {
        let a = SocketAddress(try #require(IPAddress("128.232.110.120")), 34855)
        let b = SocketAddress(try #require(IPAddress("66.35.250.204")), 80)
        #expect(CommunityID.v1(a, b) == "1:LQU9qZlK+B5F3KDmev6m5PMibrg=")
        #expect(CommunityID.v1(b, a) == "1:LQU9qZlK+B5F3KDmev6m5PMibrg=")
    }

    /// Against the reference implementation on every connection of every capture (IPv6 too).
    @Test(.enabled(if: hasValidator && hasCommunityID, "python3 -m pip install jsonschema communityid to compare with the reference"))
    func communityIDMatchesTheReferenceOnEveryCapture() throws {
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl"] + Self.captures)
        let v = try Self.validate(r.stdout)
        #expect(v.status == 0, "\(v.output)")
        let checked = v.output.split(separator: " ").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        #expect(checked >= 20, "\(v.output)")
    }

    /// The uid is the same on every run, differs between incarnations, and has Zeek's shape.
    @Test func uidsAreStableAndDistinct() throws {
        let one = try WireStateBinary.run(["analyze", "--format", "jsonl", "Captures/port-reuse-client-tw.pcap"])
        let two = try WireStateBinary.run(["analyze", "--format", "jsonl", "Captures/port-reuse-client-tw.pcap"])
        func uids(_ s: String) throws -> [String] {
            try s.split(separator: "\n").compactMap {
                let o = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                return o?["type"] as? String == "connection" ? o?["uid"] as? String : nil
            }
        }
        let a = try uids(one.stdout)
        #expect(a.count == 2)
        #expect(a == (try uids(two.stdout)))
        #expect(Set(a).count == 2)
        for u in a { #expect(u.count == 18 && u.hasPrefix("C")) }
    }
}

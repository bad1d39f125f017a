import Foundation
import Testing
import WireStateReport

/// Reporter inputs the fuzz targets (Fuzz/) crashed on, committed in Tests/Fixtures/fuzz.
@Suite struct ReporterFuzzRegressionTests {
    static let dir = WireStateBinary.repo.appendingPathComponent("Tests/Fixtures/fuzz")

    /// FuzzReporters reads a name (length byte + bytes), then two raw 8-byte times that go to the
    /// formatting helpers; `Format.fixed` with 0 places trapped on a negative repeat count.
    @Test func fixedWithZeroPlacesDoesNotTrap() throws {
        let bytes = try [UInt8](Data(contentsOf: Self.dir.appendingPathComponent("reporters-fixed-zero-places.bin")))
        let start = 1 + Int(bytes[0]) % 32
        try #require(bytes.count >= start + 16)
        let a = bytes[start..<start + 8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let b = bytes[start + 8..<start + 16].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let places = Int(a % 10)
        try #require(places == 0, "the committed input is the zero-places case")
        let text = Format.fixed(Double(bitPattern: b), places)
        #expect(!text.contains("."))
        #expect(Format.fixed(2.5, 0) == "3")
        #expect(Format.fixed(-1234.4, 0) == "-1234")
        #expect(Format.fixed(1.5, 3) == "1.500")
        #expect(Format.fixed(1.5, 40) == "1.5" + String(repeating: "0", count: 17))
    }

    /// FuzzReporters (input `reporters-civil-time-earliest.bin`, at 7.36M inputs) drove a diagnosis
    /// whose first time was near Int64.min nanoseconds; `Format.civil` trapped computing
    /// `second * 1e9` there. Both ends of the range are now dates.
    @Test func civilTimeAtBothEndsOfTheRange() throws {
        let input = Self.dir.appendingPathComponent("reporters-civil-time-earliest.bin")
        #expect(FileManager.default.fileExists(atPath: input.path), "the crashing input is committed")
        #expect(Format.rfc3339(Int64.min) == "1677-09-21T00:12:43.145224192Z")
        #expect(Format.rfc3339(Int64.max) == "2262-04-11T23:47:16.854775807Z")
        #expect(Format.rfc3339(-1) == "1969-12-31T23:59:59.999999999Z")
        #expect(Format.rfc3339(0) == "1970-01-01T00:00:00.000000000Z")
        #expect(Format.rfc3339(-1_000_000_000) == "1969-12-31T23:59:59.000000000Z")
        #expect(Format.zeekStamp(Int64.min) == "1677-09-21-00-12-43")
    }
}

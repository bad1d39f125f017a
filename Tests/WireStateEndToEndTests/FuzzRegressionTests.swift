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
}

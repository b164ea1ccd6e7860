import Foundation
import Testing
@testable import TokenBrokerProtocol

@Suite("Timestamps")
struct WireTimestampTests {
    @Test(
        "formats UTC with Z and whole seconds",
        arguments: [
            (0.0, "1970-01-01T00:00:00Z"),
            (1_795_348_800, "2026-11-22T12:00:00Z"),
            (1_795_348_800.999, "2026-11-22T12:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (-0.5, "1969-12-31T23:59:59Z"),
            (4_107_542_399, "2100-02-28T23:59:59Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ]
    )
    func format(seconds: Double, expected: String) {
        #expect(WireTimestamp.string(from: Date(timeIntervalSince1970: seconds)) == expected)
    }

    @Test("agrees with Foundation's ISO 8601 formatter over many instants")
    func agreesWithFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        var seconds: Int64 = -2_208_988_800  // 1900
        while seconds < 4_102_444_800 {  // 2100
            let date = Date(timeIntervalSince1970: Double(seconds))
            #expect(WireTimestamp.string(from: date) == formatter.string(from: date))
            #expect(WireTimestamp.date(from: formatter.string(from: date)) == date)
            seconds += 7_776_000 + 3_601  // about a quarter, shifting the time of day
        }
    }

    @Test(
        "parses RFC 3339 leniently",
        arguments: [
            ("2026-11-22T12:00:00Z", 1_795_348_800.0),
            ("2026-11-22t12:00:00z", 1_795_348_800),
            ("2026-11-22T12:00:00.5Z", 1_795_348_800.5),
            ("2026-11-22T13:30:00+01:30", 1_795_348_800),
            ("2026-11-22T10:00:00-02:00", 1_795_348_800),
        ]
    )
    func parse(text: String, seconds: Double) {
        #expect(WireTimestamp.date(from: text) == Date(timeIntervalSince1970: seconds))
    }

    @Test(
        "refuses what is not a timestamp",
        arguments: [
            "", "2026-11-22", "2026-11-22T12:00:00", "2026-11-22 12:00:00Z", "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z", "2026-11-31T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T12:60:00Z",
            "2026-11-22T12:00:60Z", "2026-11-22T12:00:00.Z", "2026-11-22T12:00:00+0100", "2026-11-22T12:00:00Zjunk",
            "20x6-11-22T12:00:00Z", "1795348800",
        ]
    )
    func refuse(text: String) {
        #expect(WireTimestamp.date(from: text) == nil)
    }
}

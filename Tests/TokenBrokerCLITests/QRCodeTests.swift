import Foundation
import Testing
import TokenBrokerProtocol

@testable import tokenbroker

/// The encoder against symbols made by python-qrcode 8.2 (byte mode, level M, the mask it
/// chose forced here, as its mask scoring differs slightly from ours), so a mistake in any
/// step (codewords, Reed-Solomon, interleaving, placement, masks, format or version
/// information) shows as a different module.
@Suite struct QRCodeTests {
    struct Golden: Sendable, CustomTestStringConvertible {
        let text: String
        let version: Int
        let mask: Int
        /// One string per row, top to bottom, "1" for dark.
        let rows: [String]
        var testDescription: String { "version \(version), mask \(mask)" }
    }

    static let goldens: [Golden] = [
        Golden(
            text: "https://x.io/a",
            version: 1, mask: 2,
            rows: [
                "111111100001101111111",
                "100000100000101000001",
                "101110101011001011101",
                "101110101010101011101",
                "101110101100101011101",
                "100000101110101000001",
                "111111101010101111111",
                "000000001011100000000",
                "101111100100101111100",
                "001001010110011111111",
                "000100100001111100110",
                "011111011011010011100",
                "010100100011011011001",
                "000000001100001111101",
                "111111100000100100110",
                "100000101001000111101",
                "101110101101001111011",
                "101110101000011010100",
                "101110101111101100100",
                "100000100011110011100",
                "111111101100001101010",
            ]),
        Golden(
            text: "https://auth.example.com/activate?user_code=WDJB-MJHT",
            version: 4, mask: 3,
            rows: [
                "111111101111101010111101001111111",
                "100000101001001011101111001000001",
                "101110100101011010001001101011101",
                "101110101110100000111111001011101",
                "101110100001000011000001101011101",
                "100000100001001111010000101000001",
                "111111101010101010101010101111111",
                "000000001110001111101011100000000",
                "101101110010001111100101001001011",
                "111011011100010011110111101101111",
                "101110101110010000100011010111001",
                "010011001110100001011010001101000",
                "010000100001001110000111010001010",
                "010111010010101000000100000100110",
                "011000111111111001110010101001100",
                "011110000001011100010100011101100",
                "110010101111010010111111011010100",
                "101101001010101100001111111011011",
                "110100111011000110100000100110110",
                "101001001011101101100001110010001",
                "101100111101000010000000000101100",
                "101101001011000111001101001001101",
                "001011101010000101100001001100011",
                "011110010011101100111000100111000",
                "101011110101110001110010111111010",
                "000000001001101110010000100011010",
                "111111101100100001110111101010000",
                "100000101110011101100101100011110",
                "101110100011101011101101111110101",
                "101110101010000011011111000100001",
                "101110101111000111001111111101000",
                "100000100001010001100011110110001",
                "111111101000100011101101001010100",
            ]),
        Golden(
            text: "https://login.example.com/realms/tokenbroker/protocol/openid-connect/auth/device?user_code=WDJB-MJHT&lang=en",
            version: 7, mask: 2,
            rows: [
                "111111100010110100010010010011101000101111111",
                "100000100111111011110011111010011101001000001",
                "101110101101110011101001000111001101001011101",
                "101110101011101100101011010001010001101011101",
                "101110101001000001011111100011110011101011101",
                "100000101010111101001000110011011100001000001",
                "111111101010101010101010101010101010101111111",
                "000000001110000110011000111111101011100000000",
                "101111100111010111001111100001110101001111100",
                "000101010000101000110011110101100001100010111",
                "010011110110010010110010101101010111111101010",
                "111000000010101101100001100101101100101100100",
                "001010100000010011110110111011100111011000001",
                "010010010100001000000011110111101001110001000",
                "100110100111100001101111101010000110001011010",
                "010001010100011010110010010011101000100111100",
                "011001110001011100100100110101100000011000010",
                "001010000001101010010010010001101001110000001",
                "001110101010110001001001111001011011011000010",
                "110011001111010011110101011110111011001111111",
                "000111111010010101101111101000100100111110100",
                "110110001110000101111000111101111001100011111",
                "001010101101100010111010100001010110101010110",
                "111010001000000011111000110011101010100011110",
                "100111111110101110101111110000010010111111011",
                "011110010111110011111111000001111000001001001",
                "100011101111001101000100001010011110110011010",
                "110110010111100101010101111001011011000011100",
                "001000110100100001000001011100010010001011011",
                "100011011110101100001110110000110001001001000",
                "110111111011001000010100101100110111100100010",
                "100100000001011011011011000110001001001101111",
                "100110101111110100010000011000110100110100010",
                "000100011010000001011111010011110001010000101",
                "000010101010111111101101001100001111110000010",
                "011110001111010100111001100010101101101010110",
                "100110101010110101111111110000010000111110011",
                "000000001001000101001000100011101001100011101",
                "111111100000110111111010110010011111101010110",
                "100000101110000011111000111110001001100011100",
                "101110101101001011101111101001100011111111011",
                "101110101000011000010101110001100001110111101",
                "101110101100001111110001101100001111100000110",
                "100000100101110000111010011101001110100111100",
                "111111101101111011010010100010010010001010010",
            ]),
    ]

    @Test(arguments: goldens)
    func matchesTheReference(_ golden: Golden) throws {
        let code = try #require(QRCode(encoding: golden.text, mask: golden.mask))
        #expect(code.version == golden.version)
        #expect(code.size == golden.rows.count)
        let rows = (0..<code.size).map { y in String((0..<code.size).map { x in code[x, y] ? "1" : "0" }) }
        #expect(rows == golden.rows)
    }

    /// 213 bytes is version 10-M's capacity; longer URLs are not worth a code that dense.
    @Test func tooLongGivesNil() throws {
        let longest = String(repeating: "a", count: 213)
        let code = try #require(QRCode(encoding: longest))
        #expect(code.version == 10)
        #expect(QRCode(encoding: longest + "a") == nil)
        #expect(QRCode(encoding: String(repeating: "é", count: 107)) == nil)  // 214 UTF-8 bytes
    }

    @Test(arguments: [0, 1, 4], [true, false])
    func terminalLinesShape(quietZone: Int, inverted: Bool) throws {
        let code = try #require(QRCode(encoding: "https://auth.example.com/activate?user_code=WDJB-MJHT"))
        let lines = code.terminalLines(quietZone: quietZone, inverted: inverted)
        let span = code.size + 2 * quietZone
        #expect(lines.count == (span + 1) / 2)
        #expect(lines.allSatisfy { $0.count == span })
        #expect(lines.allSatisfy { $0.allSatisfy { "█▀▄ ".contains($0) } })
        // The top-left finder's corner module is dark: lit unless inverted.
        let corner = Array(lines[quietZone / 2])[quietZone]
        #expect(corner == (inverted ? (quietZone % 2 == 0 ? " " : "▀") : (quietZone % 2 == 0 ? "█" : "▄")))
    }
}

/// `tokenbroker login --device` shows the verification URI as a QR code when it fits.
@Suite struct LoginQRCodeTests {
    static let device = AuthorizationPendingParams(
        resource: "https://mcp.example.com/mcp", authorizationURL: "https://auth.example.com/activate?user_code=WDJB-MJHT",
        scopes: ["files:read"],
        device: DeviceSignIn(
            userCode: "WDJB-MJHT", verificationURI: "https://auth.example.com/activate",
            verificationURIComplete: "https://auth.example.com/activate?user_code=WDJB-MJHT", expiresAt: Date(timeIntervalSince1970: 0)))

    @Test func theCompleteURIWhenItFits() throws {
        let lines = try #require(TokenBrokerCommand.Login.qrCode(for: Self.device, columns: 80, rows: 40))
        let code = try #require(QRCode(encoding: "https://auth.example.com/activate?user_code=WDJB-MJHT"))
        #expect(lines == code.terminalLines())
    }

    @Test func notInATerminalTooSmallNorForABrowserSignIn() {
        #expect(TokenBrokerCommand.Login.qrCode(for: Self.device, columns: 30, rows: 40) == nil)
        #expect(TokenBrokerCommand.Login.qrCode(for: Self.device, columns: 80, rows: 12) == nil)
        let browser = AuthorizationPendingParams(
            resource: "https://mcp.example.com/mcp", authorizationURL: "https://auth.example.com/authorize?x=1", scopes: [])
        #expect(TokenBrokerCommand.Login.qrCode(for: browser, columns: 200, rows: 100) == nil)
    }
}

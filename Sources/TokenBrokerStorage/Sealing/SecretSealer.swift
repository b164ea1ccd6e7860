internal import Crypto
internal import Foundation

/// Where a sealed value belongs, bound into its ciphertext as associated data: a value
/// copied into another row or column does not open there.
///
/// Registrations are bound to their issuer and client, not to their table, so a client
/// moves between the registration in use and the retired ones without resealing.
struct SealContext {
    let text: String

    static func grant(_ column: String, resource: String, issuer: String) -> SealContext {
        SealContext(text: "grant.\(column)\u{0}\(resource)\u{0}\(issuer)")
    }

    static func client(_ column: String, issuer: String, clientID: String) -> SealContext {
        SealContext(text: "client.\(column)\u{0}\(issuer)\u{0}\(clientID)")
    }

    static func signIn(state: String) -> SealContext {
        SealContext(text: "sign_in.code_verifier\u{0}\(state)")
    }

    static func deviceCode(state: String) -> SealContext {
        SealContext(text: "sign_in.device_code\u{0}\(state)")
    }

    /// The database's key check: a value only the right key opens.
    static let keyCheck = SealContext(text: "key_check")
}

/// Seals and opens secret column values with ChaCha20-Poly1305 under the ``StorageKey``.
///
/// A sealed value is stored as text: ``prefix``, then base64 of nonce, ciphertext and tag.
struct SecretSealer: Sendable {
    let key: StorageKey

    /// Marks a sealed value (and its format's version).
    static let prefix = "sealed1:"

    func seal(_ plaintext: String, _ context: SealContext) throws -> String {
        let box = try ChaChaPoly.seal(Data(plaintext.utf8), using: key.symmetricKey, authenticating: Data(context.text.utf8))
        return Self.prefix + box.combined.base64EncodedString()
    }

    func sealIfPresent(_ plaintext: String?, _ context: SealContext) throws -> String? {
        try plaintext.map { try seal($0, context) }
    }

    /// Opens a sealed value; throws ``StorageError/Code/wrongKey`` when this key does not
    /// open it (another key sealed it, or it was moved or altered), naming only `column`.
    func open(_ stored: String, _ context: SealContext, column: String) throws(StorageError) -> String {
        guard stored.hasPrefix(Self.prefix),
            let combined = Data(base64Encoded: String(stored.dropFirst(Self.prefix.count))),
            let box = try? ChaChaPoly.SealedBox(combined: combined)
        else { throw .unreadable(column, "it is not a sealed value") }
        guard let opened = try? ChaChaPoly.open(box, using: key.symmetricKey, authenticating: Data(context.text.utf8)) else {
            throw .cannotOpen(column)
        }
        return String(decoding: opened, as: UTF8.self)
    }

    func openIfPresent(_ stored: String?, _ context: SealContext, column: String) throws(StorageError) -> String? {
        guard let stored else { return nil }
        return try open(stored, context, column: column)
    }

    static func isSealed(_ stored: String) -> Bool { stored.hasPrefix(prefix) }

    /// The key check's value: known text, sealed.
    func sealKeyCheck() throws -> String { try seal("tokenbroker", .keyCheck) }

    /// Whether this key opens the key check `stored`.
    func opensKeyCheck(_ stored: String) -> Bool {
        (try? open(stored, .keyCheck, column: "key_check.sealed")) == "tokenbroker"
    }
}

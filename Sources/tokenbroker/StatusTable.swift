import TokenBrokerProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Plain-text tables for people; `--json` is for scripts.
enum StatusTable {
    static func render(_ grants: [GrantSummary], now: Date) -> String {
        guard !grants.isEmpty else { return empty }
        let (table, notes) = renderPage(grants, now: now, header: true)
        return table + notes.map { $0 + "\n" }.joined()
    }

    static let empty = "No grants yet. A client's first token request (or `tokenbroker login URL`) creates one.\n"

    /// One page of the table (columns sized to the page, so it prints as it arrives), and
    /// the notes about sign-ins waiting, which go after the last page.
    static func renderPage(_ grants: [GrantSummary], now: Date, header: Bool) -> (table: String, notes: [String]) {
        var rows = header ? [["RESOURCE", "ISSUER", "GRANTED", "ALSO REQUESTED", "ACCESS TOKEN", "REFRESH"]] : []
        var notes: [String] = []
        for grant in grants {
            let extra = grant.requestedScopes.filter { !grant.grantedScopes.contains($0) }
            rows.append([
                grant.resource, grant.issuer,
                grant.grantedScopes.isEmpty ? "-" : grant.grantedScopes.joined(separator: " "),
                extra.isEmpty ? "-" : extra.joined(separator: " "),
                expiry(grant, now: now),
                grant.hasRefreshToken ? "yes" : "no",
            ])
            if let pending = grant.pendingAuthorization {
                notes.append(
                    pending.device.map { device in
                        "Sign-in waiting for \(grant.resource) (since \(relative(pending.startedAt, now: now))): enter \(device.userCode) at \(device.verificationURI)"
                    } ?? "Sign-in waiting for \(grant.resource) (since \(relative(pending.startedAt, now: now))): \(pending.authorizationURL)")
            }
        }
        return (layout(rows), notes)
    }

    static func renderAudit(_ entries: [AuditRecord]) -> String {
        guard !entries.isEmpty else { return "The audit log is empty.\n" }
        var rows = [["WHEN", "PID", "PROGRAM", "METHOD", "RESOURCE", "OUTCOME"]]
        for entry in entries {
            let program = entry.application.map { "\(entry.executable ?? "?") (\($0))" } ?? entry.executable ?? "?"
            rows.append([
                WireTimestamp.string(from: entry.at), String(entry.pid), program, entry.method, entry.resource ?? "-",
                entry.outcome,
            ])
        }
        return layout(rows)
    }

    static func expiry(_ grant: GrantSummary, now: Date) -> String {
        guard grant.hasAccessToken else { return "none" }
        guard let expiresAt = grant.accessTokenExpiresAt else { return "no expiry" }
        let seconds = Int(expiresAt.timeIntervalSince(now))
        return seconds >= 0 ? "expires in \(duration(seconds))" : "expired \(duration(-seconds)) ago"
    }

    static func relative(_ date: Date, now: Date) -> String {
        "\(duration(max(0, Int(now.timeIntervalSince(date))))) ago"
    }

    /// `45s`, `12m`, `3h 5m`, `2d 4h`.
    static func duration(_ seconds: Int) -> String {
        switch seconds {
        case ..<60: "\(seconds)s"
        case ..<3600: "\(seconds / 60)m"
        case ..<86400: seconds % 3600 / 60 == 0 ? "\(seconds / 3600)h" : "\(seconds / 3600)h \(seconds % 3600 / 60)m"
        default: "\(seconds / 86400)d \(seconds % 86400 / 3600)h"
        }
    }

    static func layout(_ rows: [[String]]) -> String {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}

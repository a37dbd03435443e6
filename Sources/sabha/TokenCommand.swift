import ArgumentParser
import Foundation
import Signalling

/// `sabha token`: prints a join token (a JWT) signed with the server's key.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print a join token for one participant of one room.",
        discussion: "The token is signed with the key in the data directory (created on first use), so run this on the server with the same --data-dir as 'sabha serve'.")

    @Option(help: "Room the token admits to.")
    var room: String

    @Option(help: "Who the participant is (unique in the room, e.g. an email address).")
    var identity: String

    @Option(help: "host (runs the meeting), participant or publisher (send and watch), viewer (only watch).")
    var role: ParticipantRole = .viewer

    @Option(help: "Display name (default: the identity).")
    var name: String?

    @Option(help: "How long the token is valid: 90s, 15m, 1h, 7d.")
    var ttl: String = "1h"

    @Option(help: "Data directory holding the signing key (env SABHA_DATA_DIR, default ./sabha-data).")
    var dataDir: String?

    func validate() throws {
        for (label, value) in [("--room", room), ("--identity", identity)] {
            guard !value.isEmpty, value.utf8.count <= 128 else { throw ValidationError("\(label) must be 1 to 128 bytes") }
        }
        _ = try Settings.duration(ttl, what: "--ttl")
    }

    func run() async throws {
        let directory = Settings.value(dataDir, env: "SABHA_DATA_DIR", default: "./sabha-data")
        let authority = try await TokenAuthority.load(dataDirectory: directory)
        let token = AccessToken(identity: identity, room: room, role: role, name: name,
                                lifetime: try Settings.duration(ttl, what: "--ttl"))
        print(try await authority.issue(token))
    }
}

extension ParticipantRole: ExpressibleByArgument {}

import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Signalling

/// `sabha room …`: the admin API of a running server, from the command line.
struct RoomCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "room",
        abstract: "Create, list and end rooms and hand out personal join links, on a running server.",
        discussion: "Talks to the server's admin API (--server, env SABHA_HTTP) with the admin key from --admin-key, SABHA_ADMIN_KEY or <--data-dir>/admin.key.",
        subcommands: [Create.self, List.self, Link.self, End.self, Reopen.self, Revoke.self, Readmit.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a room and print its URL.")

        @OptionGroup var client: AdminClientOptions

        @Option(help: "Room name: 1-64 of A-Z a-z 0-9 . _ - (default: generated, room-xxxxxx).")
        var name: String?

        @Option(help: "Title shown for the room (default: the name).")
        var title: String?

        func run() async throws {
            let body = try JSONEncoder().encode(AdminWire.CreateRoom(name: name, title: title))
            let data = try await client.request("POST", "/api/rooms", body: body)
            if client.json { return client.printRaw(data) }
            let room = try client.decode(AdminWire.CreatedRoom.self, data)
            print("Created room '\(room.name)' (\(room.title)): \(room.url)")
            print("Hand out personal links with: sabha room link \(room.name) --identity NAME [--role host|participant|viewer]")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the rooms, with how many are in each meeting now.")

        @OptionGroup var client: AdminClientOptions

        func run() async throws {
            let data = try await client.request("GET", "/api/rooms")
            if client.json { return client.printRaw(data) }
            let rooms = try client.decode([AdminWire.RoomSummary].self, data)
            guard !rooms.isEmpty else { return print("No rooms yet: create one with 'sabha room create'.") }
            var rows = [["NAME", "TITLE", "SOURCE", "PEOPLE", "CREATED", "ENDED"]]
            for room in rooms {
                rows.append([room.name, room.title, room.source, "\(room.participants)",
                             room.createdAt.map(Self.format) ?? "-", room.endedAt.map(Self.format) ?? "-"])
            }
            let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                    .trimmingCharacters(in: .whitespaces))
            }
        }

        static func format(_ date: Date) -> String {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "yyyy-MM-dd HH:mm"
            return formatter.string(from: date)
        }
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print personal join links (a URL with a token) for a room.",
            discussion: "One line per --identity: the URL alone when there is one, 'IDENTITY URL' otherwise.")

        @OptionGroup var client: AdminClientOptions

        @Argument(help: "The room.")
        var room: String

        @Option(help: "Who the link is for (unique in the room, e.g. an email address); repeat for several.")
        var identity: [String]

        @Option(help: "host (runs the meeting), participant (sends and watches) or viewer (only watches).")
        var role: String = "participant"

        @Option(help: "Display name (only with one --identity; default: the identity).")
        var name: String?

        @Option(help: "How long the links are valid: 90s, 15m, 1h, 7d (at most 30d).")
        var ttl: String = "1d"

        func validate() throws {
            guard !identity.isEmpty else { throw ValidationError("give at least one --identity") }
            guard name == nil || identity.count == 1 else { throw ValidationError("--name needs exactly one --identity") }
            guard ["host", "participant", "viewer"].contains(role) else { throw ValidationError("--role must be host, participant or viewer") }
            _ = try Settings.duration(ttl, what: "--ttl")
        }

        func run() async throws {
            let seconds = Int(try Settings.duration(ttl, what: "--ttl").rounded(.up))
            let request = AdminWire.LinkRequest(participants: identity.map { .init(identity: $0, name: name, role: role) }, ttl: seconds)
            let data = try await client.request("POST", "/api/rooms/\(AdminClientOptions.pathSegment(room))/links",
                                                body: try JSONEncoder().encode(request))
            if client.json { return client.printRaw(data) }
            let links = try client.decode(AdminWire.Links.self, data).links
            for link in links { print(links.count == 1 ? link.url : "\(link.identity) \(link.url)") }
            FileHandle.standardError.write(Data("Link id\(links.count == 1 ? "" : "s") (to withdraw one: sabha room revoke \(room) ID): \(links.map(\.id).joined(separator: " "))\n".utf8))
        }
    }

    struct End: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a room's meeting for everyone in it.")

        @OptionGroup var client: AdminClientOptions

        @Argument(help: "The room.")
        var room: String

        func run() async throws {
            let data = try await client.request("DELETE", "/api/rooms/\(AdminClientOptions.pathSegment(room))")
            if client.json { return client.printRaw(data) }
            let ended = try client.decode(AdminWire.Ended.self, data)
            print("Ended the meeting in '\(room)' (\(ended.participants) participant\(ended.participants == 1 ? "" : "s") sent away).")
            print("The room stays closed until 'sabha room reopen \(room)'.")
        }
    }

    struct Reopen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open a room that a host or an administrator ended, so its links admit again.")

        @OptionGroup var client: AdminClientOptions

        @Argument(help: "The room.")
        var room: String

        func run() async throws {
            let data = try await client.request("POST", "/api/rooms/\(AdminClientOptions.pathSegment(room))/reopen")
            if client.json { return client.printRaw(data) }
            let reopened = try client.decode(AdminWire.Reopened.self, data)
            print(reopened.reopened ? "Reopened '\(room)': its links admit again." : "'\(room)' was not closed.")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Withdraw one personal link by its id (printed by 'sabha room link', shown as 'link' in 'GET /api/rooms/ROOM').")

        @OptionGroup var client: AdminClientOptions

        @Argument(help: "The room.")
        var room: String

        @Argument(help: "The link's id.")
        var link: String

        func run() async throws {
            let data = try await client.request("DELETE", "/api/rooms/\(AdminClientOptions.pathSegment(room))/links/\(AdminClientOptions.pathSegment(link))")
            if client.json { return client.printRaw(data) }
            let revoked = try client.decode(AdminWire.Revoked.self, data)
            print("Withdrew link \(revoked.id) (\(revoked.disconnected) connection\(revoked.disconnected == 1 ? "" : "s") using it closed).")
        }
    }

    struct Readmit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let someone a host removed from a room join it again.")

        @OptionGroup var client: AdminClientOptions

        @Argument(help: "The room.")
        var room: String

        @Option(help: "The removed person's identity.")
        var identity: String

        func run() async throws {
            let data = try await client.request("DELETE", "/api/rooms/\(AdminClientOptions.pathSegment(room))/removed/\(AdminClientOptions.pathSegment(identity))")
            if client.json { return client.printRaw(data) }
            _ = try client.decode(AdminWire.Readmitted.self, data)
            print("'\(identity)' may join '\(room)' again.")
        }
    }
}

/// Where the server is and how to prove we may manage it.
struct AdminClientOptions: ParsableArguments {
    @Option(help: "The server's HTTP address, as for 'serve --http' or a URL (env SABHA_HTTP, default 127.0.0.1:8080).")
    var server: String?

    // Unconditional: a key may begin with "-" (keys made before 2026-12-06 could).
    @Option(parsing: .unconditional, help: "Admin key (env SABHA_ADMIN_KEY; default: read <--data-dir>/admin.key).")
    var adminKey: String?

    @Option(help: "The server's data directory, for its admin.key (env SABHA_DATA_DIR, default ./sabha-data).")
    var dataDir: String?

    @Flag(help: "Print the server's JSON answer instead of text.")
    var json = false

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    var baseURL: String {
        let address = Settings.value(server, env: "SABHA_HTTP", default: "127.0.0.1:8080")
        let url = address.contains("://") ? address : "http://\(address)"
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    func key() throws -> String {
        if let key = Settings.optional(adminKey, env: AdminKey.environmentVariable) { return key }
        let directory = Settings.value(dataDir, env: "SABHA_DATA_DIR", default: "./sabha-data")
        let path = AdminKey.path(dataDirectory: directory)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "no admin key: \(path) cannot be read. Pass --data-dir with the server's data directory, or --admin-key / SABHA_ADMIN_KEY.")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func pathSegment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// Sends one admin API request; returns the body of a 2xx answer, or throws the server's problem in words.
    func request(_ method: String, _ path: String, body: Data? = nil) async throws -> Data {
        guard let url = URL(string: baseURL + path) else { throw Failure(description: "'\(baseURL)' is not a usable server address") }
        var request = URLRequest(url: url, timeoutInterval: 30)
        request.httpMethod = method
        request.setValue("Bearer \(try key())", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await Self.send(request)
        } catch {
            throw Failure(description: "cannot reach the Sabha server at \(baseURL) (\(error.localizedDescription)). Is 'sabha serve' running there? Set --server or SABHA_HTTP.")
        }
        guard let http = response as? HTTPURLResponse else { throw Failure(description: "\(baseURL) did not answer over HTTP") }
        guard (200..<300).contains(http.statusCode) else {
            if let problem = try? JSONDecoder().decode(Problem.self, from: data) {
                let hint = problem.code.hasPrefix("admin-key") ? " (check --admin-key, SABHA_ADMIN_KEY or --data-dir)" : ""
                throw Failure(description: "\(problem.title) [\(problem.code)]: \(problem.detail)\(hint)")
            }
            throw Failure(description: "\(method) \(path) failed with HTTP \(http.statusCode): \(String(decoding: data.prefix(500), as: UTF8.self))")
        }
        return data
    }

    func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        do {
            return try AdminWire.makeDecoder().decode(type, from: data)
        } catch {
            throw Failure(description: "the server's answer is not what this 'sabha' expects (another version?): \(error)")
        }
    }

    func printRaw(_ data: Data) {
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    private static func send(_ request: URLRequest) async throws -> (Data, URLResponse) {
        try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error { return continuation.resume(throwing: error) }
                guard let response else { return continuation.resume(throwing: URLError(.badServerResponse)) }
                continuation.resume(returning: (data ?? Data(), response))
            }.resume()
        }
    }
}

import Foundation
import Logging
import Testing
@testable import Signalling

/// TURN REST credentials (draft-uberti-behave-turn-rest-00) as coturn's `use-auth-secret` checks them, the URLs
/// `--turn-url` accepts, and where the credentials are handed out: `joined.iceServers` and WHIP/WHEP `Link` headers.
@Suite struct TURNCredentialsTests {
    /// Passwords computed independently with Python (`base64(hmac.new(secret, username, hashlib.sha1).digest())`);
    /// the "s3cret" one is also what coturn 4.6.1 (`use-auth-secret`, `static-auth-secret=s3cret`) accepted for an
    /// allocation when Tests/e2e/test_turn.py was written.
    static let vectors: [(secret: String, identity: String, expiry: Int, username: String, password: String)] = [
        ("north-block-relay-secret", "p-0123abcd", 1_767_225_600, "1767225600:p-0123abcd", "Ou8DBTuGwYUw+KeYd7vtVkw2wCQ="),
        ("north-block-relay-secret", "whep-sess-1", 1_767_225_600, "1767225600:whep-sess-1", "SJeKeiGSbB5Vsmk2ZcdbAakAlZ4="),
        ("s3cret", "exp", 1_796_463_776, "1796463776:exp", "KiVl0WbGdJCbu3Jdeo6F/Dfmpro="),
    ]

    @Test(arguments: vectors.indices)
    func usernameIsExpiryColonIdentityAndPasswordIsBase64HMACSHA1(_ index: Int) {
        let v = Self.vectors[index]
        let credentials = TURNCredentials(secret: Array(v.secret.utf8), identity: v.identity,
                                          expiry: Date(timeIntervalSince1970: TimeInterval(v.expiry) + 0.75))
        #expect(credentials.username == v.username)
        #expect(credentials.password == v.password)
        #expect(credentials.expiry == Date(timeIntervalSince1970: TimeInterval(v.expiry)))
    }

    @Test func aColonInTheIdentityCannotMoveTheExpiry() {
        let credentials = TURNCredentials(secret: Array("k".utf8), identity: "a:99999999999", expiry: Date(timeIntervalSince1970: 100))
        #expect(credentials.username == "100:a-99999999999")
    }

    @Test func aDifferentSecretGivesADifferentPassword() {
        let expiry = Date(timeIntervalSince1970: 1_767_225_600)
        let a = TURNCredentials(secret: Array("secret-a".utf8), identity: "p-1", expiry: expiry)
        let b = TURNCredentials(secret: Array("secret-b".utf8), identity: "p-1", expiry: expiry)
        #expect(a.username == b.username && a.password != b.password)
    }

    @Test func configurationExpiresCredentialsOneLifetimeFromNow() {
        let turn = TURNConfiguration(urls: [try! TURNURL("turns:turn.example.gov.in:443?transport=tcp")],
                                     secret: Array("north-block-relay-secret".utf8), lifetime: 3600)
        let server = turn.iceServer(for: "p-0123abcd", now: Date(timeIntervalSince1970: 1_767_222_000))
        #expect(server == ICEServer(urls: ["turns:turn.example.gov.in:443?transport=tcp"], username: "1767225600:p-0123abcd",
                                    credential: "Ou8DBTuGwYUw+KeYd7vtVkw2wCQ="))
    }

    /// RFC 9725 section 4.4: one `Link` value per URL, rel="ice-server", the credentials as quoted parameters.
    @Test func linkHeaderValuesFollowRFC9725() throws {
        let turn = TURNConfiguration(urls: [try TURNURL("turns:turn.example.gov.in:443?transport=tcp"), try TURNURL("turn:10.1.2.3:3478")],
                                     secret: Array("north-block-relay-secret".utf8), lifetime: 60)
        let values = turn.linkHeaderValues(for: "whep-sess-1", now: Date(timeIntervalSince1970: 1_767_225_540))
        #expect(values == [
            #"<turns:turn.example.gov.in:443?transport=tcp>; rel="ice-server"; username="1767225600:whep-sess-1"; credential="SJeKeiGSbB5Vsmk2ZcdbAakAlZ4="; credential-type="password""#,
            #"<turn:10.1.2.3:3478>; rel="ice-server"; username="1767225600:whep-sess-1"; credential="SJeKeiGSbB5Vsmk2ZcdbAakAlZ4="; credential-type="password""#,
        ])
    }

    @Test(arguments: [
        ("turns:turn.example.gov.in:443?transport=tcp", true, "turn.example.gov.in", 443, "tcp"),
        ("turn:10.1.2.3:3478", false, "10.1.2.3", 3478, nil),
        ("turn:turn.example.gov.in", false, "turn.example.gov.in", nil, nil),
        ("TURNS:[2001:db8::1]:443", true, "2001:db8::1", 443, nil),
        ("turn:127.0.0.1:3478?transport=udp", false, "127.0.0.1", 3478, "udp"),
    ] as [(String, Bool, String, Int?, String?)])
    func acceptsTURNURLs(_ text: String, _ secure: Bool, _ host: String, _ port: Int?, _ transport: String?) throws {
        let url = try TURNURL(text)
        #expect(url.text == text && url.secure == secure && url.host == host && url.port == port && url.transport == transport)
    }

    @Test(arguments: [
        "stun:turn.example.gov.in:3478", "https://turn.example.gov.in", "turn://turn.example.gov.in:3478", "turn:",
        "turn::3478", "turn:host:0", "turn:host:65536", "turn:host:http", "turn:host?transport=sctp", "turns:host:443?transport=udp",
        "turn:[2001:db8::1:3478", "turn:2001:db8::1", "turn:bad host:3478", "turn:host:3478?foo=bar",
    ])
    func refusesWhatIsNotATURNURL(_ text: String) {
        #expect(throws: TURNURL.Invalid.self) { _ = try TURNURL(text) }
    }

    @Test func joinedCarriesFreshCredentialsOnlyWhenTURNIsConfigured() async throws {
        let turn = TURNConfiguration(urls: [try TURNURL("turns:turn.example.gov.in:443?transport=tcp")],
                                     secret: Array("north-block-relay-secret".utf8), lifetime: 600)
        try await MeetingHubMediaTests.withEngine { engine in
            let withTURN = MeetingHub(engine: engine, logger: Logger(label: "test"), turn: turn)
            let before = Date()
            let asha = await MeetingHubMediaTests.join(withTURN, "asha")
            let joined = try #require(await MeetingHubMediaTests.messages(asha, "joined").first)
            let after = Date()
            let servers = try #require(joined["iceServers"] as? [[String: Any]])
            #expect(servers.count == 1)
            #expect(servers.first?["urls"] as? [String] == ["turns:turn.example.gov.in:443?transport=tcp"])
            let username = try #require(servers.first?["username"] as? String)
            // The participant's id, not the identity "asha": the relay's logs name no person.
            #expect(username.hasSuffix(":" + asha.id) && !username.contains("asha"))
            let expiry = try #require(Double(username.split(separator: ":")[0]))
            // One lifetime after the join, however slowly a loaded machine ran it (whole seconds: rounded down).
            #expect(expiry >= (before.timeIntervalSince1970 + 600).rounded(.down) && expiry <= after.timeIntervalSince1970 + 600)
            let expected = TURNCredentials(secret: Array("north-block-relay-secret".utf8), identity: asha.id,
                                           expiry: Date(timeIntervalSince1970: expiry))
            #expect(servers.first?["credential"] as? String == expected.password)

            let without = MeetingHub(engine: engine, logger: Logger(label: "test"))
            let ravi = await MeetingHubMediaTests.join(without, "ravi")
            let plain = try #require(await MeetingHubMediaTests.messages(ravi, "joined").first)
            #expect((plain["iceServers"] as? [Any])?.isEmpty == true)
        }
    }
}

import Testing
@testable import GroupwareBridge

/// `SABHA_SMTP_URL` parsing and its defaults.
struct SMTPConfigurationTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var url: String
        var host: String
        var port: Int
        var user: String?
        var password: String?
        var security: SMTPConfiguration.Security
        var testDescription: String { url }
    }

    static let valid: [Row] = [
        Row(url: "smtp://mail.example.in", host: "mail.example.in", port: 25, security: .off),
        Row(url: "smtp://mail.example.in:2525", host: "mail.example.in", port: 2525, security: .off),
        Row(url: "smtp://mail.example.in/", host: "mail.example.in", port: 25, security: .off),
        Row(url: "smtp://mail.example.in?starttls=required", host: "mail.example.in", port: 587, security: .startTLS),
        Row(url: "smtp://sabha:s3cret@mail.example.in", host: "mail.example.in", port: 587, user: "sabha",
            password: "s3cret", security: .startTLS),
        Row(url: "smtp://sabha:s3cret@mail.example.in:25?starttls=off", host: "mail.example.in", port: 25,
            user: "sabha", password: "s3cret", security: .off),
        Row(url: "smtp://user%40gov.in:p%40ss%3Aw%2Fo%25rd@10.0.0.5:587", host: "10.0.0.5", port: 587,
            user: "user@gov.in", password: "p@ss:w/o%rd", security: .startTLS),
        Row(url: "smtp://a:b@c@relay.local", host: "relay.local", port: 587, user: "a", password: "b@c", security: .startTLS),
        Row(url: "smtp://[::1]:2525", host: "::1", port: 2525, security: .off),
        Row(url: "SMTP://relay.local?STARTTLS=Required", host: "relay.local", port: 587, security: .startTLS),
        Row(url: "smtps://sabha:pw@mail.example.in", host: "mail.example.in", port: 465, user: "sabha",
            password: "pw", security: .implicitTLS),
        Row(url: "smtps://mail.example.in:4650", host: "mail.example.in", port: 4650, security: .implicitTLS),
    ]

    @Test(arguments: valid)
    func parses(_ row: Row) throws {
        let c = try SMTPConfiguration(url: row.url)
        #expect(c.host == row.host)
        #expect(c.port == row.port)
        #expect(c.username == row.user)
        #expect(c.password == row.password)
        #expect(c.security == row.security)
        #expect(c.connectTimeout == .seconds(10))
        #expect(c.commandTimeout == .seconds(30))
        #expect(c.verifyHostname)
        #expect(c.trustedCAFile == nil)
    }

    static let invalid = [
        "http://mail.example.in", "mail.example.in", "smtp://", "smtp://:25", "smtp://host:0", "smtp://host:65536",
        "smtp://host:abc", "smtp://host/path", "smtp://host?starttls=maybe", "smtp://host?tls=on",
        "smtps://host?starttls=off", "smtp://user:p%4@host", "smtp://:pw@host", "smtp://[::1", "smtp://[::1]x",
    ]

    @Test(arguments: invalid)
    func rejects(_ url: String) {
        #expect {
            try SMTPConfiguration(url: url)
        } throws: { error in
            guard case .invalidConfiguration = error as? SMTPError else { return false }
            return true
        }
    }

    @Test func descriptionHidesThePassword() throws {
        let c = try SMTPConfiguration(url: "smtp://sabha:hunter2@mail.example.in")
        #expect(!c.description.contains("hunter2"))
        #expect(c.description.contains("sabha:***@mail.example.in:587"))
        #expect {
            try SMTPConfiguration(url: "ftp://sabha:hunter2@mail.example.in")
        } throws: { error in
            !String(describing: error).contains("hunter2")
        }
    }
}

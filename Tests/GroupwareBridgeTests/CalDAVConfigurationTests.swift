import Testing
@testable import GroupwareBridge

struct CalDAVConfigurationTests {
    @Test(arguments: [
        ("http://127.0.0.1:5232/alice/calendar/", "http://127.0.0.1:5232/alice/calendar/"),
        ("http://127.0.0.1:5232/alice/calendar", "http://127.0.0.1:5232/alice/calendar/"),
        ("  https://dav.example.in/remote.php/dav/calendars/asha/meetings ", "https://dav.example.in/remote.php/dav/calendars/asha/meetings/"),
        ("HTTPS://dav.example.in", "https://dav.example.in/"),
        ("http://[::1]:5232/a%20b/", "http://[::1]:5232/a%20b/"),
    ])
    func collectionURLIsNormalisedToEndWithASlash(input: String, expected: String) throws {
        let configuration = try CalDAVConfiguration(collectionURL: input, username: "asha", password: "pw")
        #expect(configuration.collectionURL == expected)
        #expect(configuration.timeout == .seconds(15))
    }

    @Test(arguments: [
        "", "dav.example.in/cal/", "ftp://dav.example.in/cal/", "http://", "http:///cal/", "http://asha:pw@dav.example.in/cal/",
        "http://dav.example.in/cal/?x=1", "http://dav.example.in/cal/#f", "http://dav.example.in/my cal/", "http://dav.example.in/कैलेंडर/",
    ])
    func unusableURLsAreRejected(input: String) {
        #expect {
            try CalDAVConfiguration(collectionURL: input, username: nil, password: nil)
        } throws: { error in
            guard case .invalidURL(let why) = error as? CalDAVError else { return false }
            return !why.contains("asha:pw")
        }
    }

    @Test func descriptionNeverShowsThePassword() throws {
        let configuration = try CalDAVConfiguration(collectionURL: "http://h/c", username: "asha", password: "s3cr3t!")
        #expect(!"\(configuration)".contains("s3cr3t!"))
        #expect("\(configuration)".contains("asha"))
    }

    @Test(arguments: [
        ("m-abc.ics", "/alice/calendar/m-abc.ics"),
        ("room 42@sabha.ics", "/alice/calendar/room%2042@sabha.ics"),
        ("a%20b%40c.ics", "/alice/calendar/a%20b%40c.ics"),  // already in URL form: unchanged
        ("100%.ics", "/alice/calendar/100%25.ics"),
        ("मीटिंग.ics", "/alice/calendar/%E0%A4%AE%E0%A5%80%E0%A4%9F%E0%A4%BF%E0%A4%82%E0%A4%97.ics"),
        ("/alice/calendar/a%20b.ics", "/alice/calendar/a%20b.ics"),
        ("/elsewhere/x.ics", "/elsewhere/x.ics"),
        ("http://127.0.0.1:5232/alice/calendar/x.ics", "/alice/calendar/x.ics"),
        ("HTTP://127.0.0.1:5232/alice/calendar/x.ics", "/alice/calendar/x.ics"),
    ])
    func resourcesResolveAgainstTheCollection(resource: String, path: String) throws {
        let endpoint = try CalDAVConfiguration.Endpoint("http://127.0.0.1:5232/alice/calendar")
        #expect(try CalDAVClient.path(of: resource, in: endpoint) == path)
    }

    @Test(arguments: [
        "", ".", "..", "a/b.ics", "/a b.ics", "/a?b", "http://127.0.0.1:5233/alice/calendar/x.ics",
        "http://127.0.0.1:5232.evil.example/x.ics", "https://127.0.0.1:5232/alice/calendar/x.ics",
    ])
    func resourcesOutsideTheOriginOrMalformedAreRefused(resource: String) throws {
        let endpoint = try CalDAVConfiguration.Endpoint("http://127.0.0.1:5232/alice/calendar")
        #expect(throws: CalDAVError.self) { try CalDAVClient.path(of: resource, in: endpoint) }
    }

    @Test(arguments: [
        ("A\nB\n", "A\r\nB\r\n"), ("A\r\nB\r\n", "A\r\nB\r\n"), ("A\rB", "A\r\nB"), ("A\r\n\nB", "A\r\n\r\nB"), ("", ""),
        ("मंथन\n", "मंथन\r\n"),
    ])
    func calendarDataLineEndsBecomeCRLF(input: String, expected: String) {
        #expect(Array(CalDAVClient.crlf(input).utf8) == Array(expected.utf8))
    }

    @Test func transientErrors() {
        #expect(CalDAVError.transport("refused").isTransient)
        #expect(CalDAVError.http(status: 500, detail: "").isTransient)
        #expect(CalDAVError.http(status: 503, detail: "").isTransient)
        #expect(CalDAVError.http(status: 429, detail: "").isTransient)
        #expect(!CalDAVError.http(status: 400, detail: "").isTransient)
        #expect(!CalDAVError.http(status: 409, detail: "").isTransient)
        for error in [CalDAVError.invalidURL("x"), .preconditionFailed, .notFound, .unauthorized, .syncTokenInvalid, .badResponse("x")] {
            #expect(!error.isTransient)
        }
    }
}

import Testing
@testable import GroupwareBridge

@Suite struct IMAPConfigurationTests {
    @Test func credentialsMeanSTARTTLSOnPort143AndINBOX() throws {
        let configuration = try IMAPConfiguration(url: "imap://replies:s%40cret@mail.example.in")
        #expect(configuration.security == .startTLS)
        #expect(configuration.port == 143)
        #expect(configuration.mailbox == "INBOX")
        #expect(configuration.username == "replies")
        #expect(configuration.password == "s@cret")
    }

    @Test func imapsIsImplicitTLSOn993WithAPercentDecodedMailbox() throws {
        let configuration = try IMAPConfiguration(url: "imaps://u:p@[::1]/Sabha%20Replies")
        #expect(configuration.security == .implicitTLS)
        #expect(configuration.port == 993)
        #expect(configuration.host == "::1")
        #expect(configuration.mailbox == "Sabha Replies")
    }

    @Test func separateUserAndPasswordOverrideTheURL() throws {
        let configuration = try IMAPConfiguration(url: "imap://a:b@h:1143?starttls=off", username: "c", password: "d:e")
        #expect(configuration.username == "c")
        #expect(configuration.password == "d:e")
        #expect(configuration.security == .off)
        #expect(configuration.port == 1143)
        let noCredentials = try IMAPConfiguration(url: "imap://h", password: "x")
        #expect(noCredentials.security == .off)
        #expect(noCredentials.username == nil)
    }

    @Test func descriptionHidesThePassword() throws {
        let configuration = try IMAPConfiguration(url: "imap://u:topsecret@h/INBOX")
        #expect(!configuration.description.contains("topsecret"))
        #expect(configuration.description.contains("u:***@h:143"))
    }

    @Test(arguments: [
        "http://h", "imap:/h", "imap://", "imap://h:0", "imap://h:99999", "imaps://h?starttls=required",
        "imap://h?starttls=maybe", "imap://h?x=1", "imap://:p@h", "imap://u@h/%zz",
    ])
    func badURLsAreConfigurationErrors(_ url: String) {
        #expect(throws: IMAPError.self) { try IMAPConfiguration(url: url) }
        do {
            _ = try IMAPConfiguration(url: url)
        } catch {
            guard case .invalidConfiguration = error else { Issue.record("\(error)"); return }
            #expect(!error.isTransient)
        }
    }
}

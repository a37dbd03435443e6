import Testing
@testable import Signalling

/// Who a participant is to the others: the token's name, with a typed one only beside it.
@Suite struct ParticipantNameTests {
    static func token(name: String?) -> AccessToken {
        AccessToken(identity: "ravi@dept.gov.in", room: "r", role: .participant, name: name, lifetime: 60)
    }

    @Test func theTokensNameIsTheNameAndATypedOneIsKeptApart() {
        #expect(MeetingHub.names(token: Self.token(name: "Ravi Kumar"), chosen: "District Collector") == ("Ravi Kumar", "District Collector"))
        #expect(MeetingHub.names(token: Self.token(name: nil), chosen: "Ravi") == ("ravi@dept.gov.in", "Ravi"))
        #expect(MeetingHub.names(token: Self.token(name: ""), chosen: nil) == ("ravi@dept.gov.in", nil))
    }

    @Test func aTypedNameEqualToTheTokensOrEmptyIsNoChosenName() {
        #expect(MeetingHub.names(token: Self.token(name: "Ravi Kumar"), chosen: " Ravi Kumar ") == ("Ravi Kumar", nil))
        #expect(MeetingHub.names(token: Self.token(name: "Ravi Kumar"), chosen: "   ") == ("Ravi Kumar", nil))
    }

    @Test func controlCharactersGoAndLongNamesAreCut() {
        let names = MeetingHub.names(token: Self.token(name: String(repeating: "r", count: 200)),
                                     chosen: "Host\u{0}\u{1b}[31m\n" + String(repeating: "x", count: 200))
        #expect(names.name.count == 80)
        #expect(names.chosen?.hasPrefix("Host[31m") == true && names.chosen?.count == 80)
    }

    @Test func thePolicyNamesOnlyThisServerAndAPlainHost() {
        let policy = SecurityHeadersMiddleware<SabhaRequestContext>.contentSecurityPolicy(host: "meet.dept.gov.in:8443")
        #expect(policy.contains("connect-src 'self' ws://meet.dept.gov.in:8443 wss://meet.dept.gov.in:8443"))
        #expect(policy.contains("frame-ancestors 'none'") && policy.contains("script-src 'self'") && !policy.contains("unsafe"))
        let hostile = SecurityHeadersMiddleware<SabhaRequestContext>.contentSecurityPolicy(host: "x; script-src *")
        #expect(hostile.contains("connect-src 'self';") && !hostile.contains("script-src *"), "a Host header cannot add to the policy")
        #expect(!SecurityHeadersMiddleware<SabhaRequestContext>.isPlainHost(""))
        #expect(SecurityHeadersMiddleware<SabhaRequestContext>.isPlainHost("[::1]:8080"))
    }

    @Test func inAClusterThePolicyLetsTheMeetingPageFollowARedirectToAnotherNodesSocketAndNowhereElse() {
        let policy = SecurityHeadersMiddleware<SabhaRequestContext>.contentSecurityPolicy(
            host: "sabha-1.dc.gov.in", others: ["wss://sabha-2.dc.gov.in", "ws://10.0.0.3:8080", "https://x.example", "wss://a b; script-src *"])
        #expect(policy.contains("connect-src 'self' ws://sabha-1.dc.gov.in wss://sabha-1.dc.gov.in wss://sabha-2.dc.gov.in ws://10.0.0.3:8080;"))
        #expect(!policy.contains("x.example") && !policy.contains("script-src *"))
    }
}

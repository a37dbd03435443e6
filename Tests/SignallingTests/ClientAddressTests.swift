import HTTPTypes
import Testing
@testable import Signalling

/// Who the client is behind a reverse proxy (`--trusted-proxy`), where a plain-HTTP request is redirected
/// (`--http-redirect`), and which host names a certificate covers (`sabha doctor`, the start-up log).
@Suite struct ClientAddressTests {
    let proxies = try! TrustedProxies(["127.0.0.1", "10.0.0.0/8", "fd00::/8"])

    private func headers(_ fields: [(String, String)]) -> HTTPFields {
        var headers = HTTPFields()
        for (name, value) in fields { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return headers
    }

    @Test func aTrustedProxysHeaderNamesTheClient() {
        #expect(proxies.clientAddress(peer: "127.0.0.1", headers: headers([("X-Forwarded-For", "203.0.113.7")])) == "203.0.113.7")
        #expect(proxies.clientAddress(peer: "10.9.8.7", headers: headers([("X-Forwarded-For", "203.0.113.7, 10.1.1.1")])) == "203.0.113.7")
        #expect(proxies.clientAddress(peer: "fd00::1", headers: headers([("Forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43")])) == "192.0.2.60")
        #expect(proxies.clientAddress(peer: "127.0.0.1", headers: headers([("Forwarded", "for=\"[2001:db8:cafe::17]:4711\"")])) == "2001:db8:cafe::17")
    }

    @Test func anUntrustedPeersHeadersAreIgnored() {
        #expect(proxies.clientAddress(peer: "198.51.100.1", headers: headers([("X-Forwarded-For", "203.0.113.7")])) == "198.51.100.1")
        #expect(TrustedProxies().clientAddress(peer: "127.0.0.1", headers: headers([("X-Forwarded-For", "203.0.113.7")])) == "127.0.0.1")
    }

    @Test func aForgedFirstHopDoesNotWin() {
        // The client sent "X-Forwarded-For: 6.6.6.6"; the proxy appended the address it saw.
        #expect(proxies.clientAddress(peer: "127.0.0.1", headers: headers([("X-Forwarded-For", "6.6.6.6, 198.51.100.20")])) == "198.51.100.20")
        // A hop that is no address ends the walk at the last trusted hop.
        #expect(proxies.clientAddress(peer: "127.0.0.1", headers: headers([("Forwarded", "for=_hidden")])) == "127.0.0.1")
        #expect(proxies.clientAddress(peer: "127.0.0.1", headers: headers([("X-Forwarded-For", "not an address")])) == "127.0.0.1")
    }

    @Test func blocksMatchByPrefix() throws {
        let blocks = try TrustedProxies(["192.168.4.0/22", "2001:db8::/32", "0.0.0.0/0"])
        #expect(blocks.trusts("192.168.7.255") && blocks.trusts("1.2.3.4"))
        #expect(blocks.trusts("2001:db8:ffff::1") && !blocks.trusts("2001:db9::1"))
        let narrow = try TrustedProxies(["192.168.4.0/22"])
        #expect(!narrow.trusts("192.168.8.1") && !narrow.trusts("::ffff:192.168.4.1") && !narrow.trusts("garbage"))
    }

    @Test func badEntriesAreRefusedByName() {
        for entry in ["proxy.example", "10.0.0.0/33", "::/129", "10.0.0.0/x", ""] {
            #expect(throws: TrustedProxiesError.self, "\(entry)") { try TrustedProxies([entry]) }
        }
    }

    @Test func plainHTTPIsRedirectedToTheHTTPSAddress() {
        #expect(HTTPSRedirect.location(publicURL: "https://meet.odisha.gov.in", httpsPort: 8443, requestHost: "x", target: "/m/a?t=1")
                == "https://meet.odisha.gov.in/m/a?t=1")
        #expect(HTTPSRedirect.location(publicURL: "http://127.0.0.1:8443", httpsPort: 8443, requestHost: "10.0.0.5:80", target: "/")
                == "https://10.0.0.5:8443/")
        #expect(HTTPSRedirect.location(publicURL: "http://x", httpsPort: 443, requestHost: "[::1]:80", target: "/healthz") == "https://[::1]/healthz")
        #expect(HTTPSRedirect.location(publicURL: "http://x", httpsPort: 443, requestHost: "evil\"><script>", target: "/") == "https://localhost/")
    }

    @Test func certificateNamesCoverExactHostsAndOneWildcardLabel() {
        let names = ["meet.odisha.gov.in", "*.vc.odisha.gov.in", "10.1.2.3"]
        #expect(TLSCredentials.covers(names, host: "MEET.odisha.gov.in"))
        #expect(TLSCredentials.covers(names, host: "cuttack.vc.odisha.gov.in"))
        #expect(!TLSCredentials.covers(names, host: "a.b.vc.odisha.gov.in"))
        #expect(!TLSCredentials.covers(names, host: "vc.odisha.gov.in"))
        #expect(TLSCredentials.covers(names, host: "10.1.2.3") && !TLSCredentials.covers(names, host: "10.1.2.4"))
    }
}

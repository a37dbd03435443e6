import PostgresStore
import SabhaTestSupport
import Testing

@Suite struct DatabaseURLTests {
    @Test func readsEveryPartAndHidesThePassword() throws {
        let url = try DatabaseURL("postgres://sabha:p%40ss%3Aword@db.dc.gov.in:6432/sabha_prod?sslmode=disable")
        #expect(url.host == "db.dc.gov.in" && url.port == 6432 && url.username == "sabha" && url.password == "p@ss:word")
        #expect(url.database == "sabha_prod")
        #expect(url.description == "postgres://sabha:***@db.dc.gov.in:6432/sabha_prod")
        let v6 = try DatabaseURL("postgresql://[::1]/x")
        #expect(v6.host == "::1" && v6.port == 5432 && v6.username == "postgres" && v6.password == nil)
    }

    @Test(arguments: ["mysql://x", "postgres://host", "postgres://host/", "postgres://:pw@host/db", "postgres://u@host:99999/db",
                      "postgres://u@host:port/db", "postgres://u@/db", "postgres://u@host/db?sslmode=require", "postgres://u%zz@h/db",
                      "postgres://u@[::1/db"])
    func refusesWhatItCannotUseWithAReason(text: String) {
        #expect(throws: DatabaseURLError.self) { try DatabaseURL(text) }
    }

    @Test func aRefusedURLNeverShowsItsPassword() {
        do {
            _ = try DatabaseURL("mysql://root:hunter2@db/x")
            Issue.record("accepted")
        } catch {
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test func survivesArbitraryText() {
        var random = SplitMix64(seed: 20)
        let alphabet = Array("postgres://:@[]/%?&=0123456789abcdef\u{0}é")
        for _ in 0..<5000 {
            let text = String((0..<Int(random.next() % 40)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
            _ = try? DatabaseURL(text)
        }
    }
}

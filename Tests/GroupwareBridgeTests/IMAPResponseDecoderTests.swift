import NIOCore
import SabhaTestSupport
import Testing
@testable import GroupwareBridge

/// The response decoder alone, on bytes: literals, bounds, and every way the bytes can be cut into reads.
@Suite struct IMAPResponseDecoderTests {
    static func decodeAll(_ chunks: [[UInt8]], decoder: IMAPResponseDecoder = IMAPResponseDecoder()) throws -> [IMAPResponse] {
        var buffer = ByteBuffer()
        var responses: [IMAPResponse] = []
        for chunk in chunks {
            buffer.writeBytes(chunk)
            while let response = try decoder.decode(&buffer) { responses.append(response) }
        }
        #expect(buffer.readableBytes == 0)
        return responses
    }

    static let session = Array("""
        * OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r
        s1 OK logged in\r
        * 3 EXISTS\r
        * OK [UIDVALIDITY 3857529045] UIDs valid\r
        s2 OK [READ-ONLY] done\r
        * 2 FETCH (UID 7 BODY[] {12}\r
        a\r
        \u{0}\u{FF}bc\r
        d FLAGS (\\Seen))\r
        + go ahead\r
        s3 OK fetched\r

        """.utf8).map { $0 == 0xC3 ? 0xFF : $0 }

    @Test func splitsTaggedUntaggedAndContinuationResponses() throws {
        let responses = try Self.decodeAll([Self.session])
        #expect(responses.map(\.kind) == [
            .untagged, .tagged("s1"), .untagged, .untagged, .tagged("s2"), .untagged, .continuation, .tagged("s3"),
        ])
        #expect(responses[3].responseCode?.name == "UIDVALIDITY")
        #expect(responses[3].responseCode?.argument == "3857529045")
        #expect(responses[2].numbered?.number == 3)
        #expect(responses[2].numbered?.name == "EXISTS")
        #expect(responses[6].text == Array("go ahead".utf8))
    }

    @Test func fetchLiteralKeepsItsBytesExactly() throws {
        let responses = try Self.decodeAll([Self.session])
        let data = try #require(try IMAPFetchData(responses[5]))
        #expect(data.uid == 7)
        #expect(data.sequenceNumber == 2)
        #expect(data.body?.count == 12)
        #expect(data.body?.contains(0) == true)
    }

    /// One byte per read, and every split of the session into two reads, give the same responses.
    @Test func anyChunkingGivesTheSameResponses() throws {
        let whole = try Self.decodeAll([Self.session])
        #expect(try Self.decodeAll(Self.session.map { [$0] }) == whole)
        for cut in 0...Self.session.count {
            #expect(try Self.decodeAll([Array(Self.session[..<cut]), Array(Self.session[cut...])]) == whole)
        }
    }

    @Test func nonSynchronizingLiteralAndBareLineFeeds() throws {
        let responses = try Self.decodeAll([Array("* 1 FETCH (UID 4 BODY[] {3+}\nxyz)\nt1 OK\n".utf8)])
        #expect(responses.count == 2)
        #expect(try IMAPFetchData(responses[0])?.body == Array("xyz".utf8))
    }

    @Test func aLineOverTheLimitIsAnErrorNotMemory() throws {
        var buffer = ByteBuffer(bytes: Array(repeating: UInt8(ascii: "a"), count: 70_000))
        #expect(throws: IMAPError.self) { _ = try IMAPResponseDecoder().decode(&buffer) }
    }

    /// Refused when "{n}" arrives, before any of the n bytes.
    @Test func aLiteralOverTheLimitIsRefusedAtItsHeader() throws {
        var buffer = ByteBuffer(string: "* 1 FETCH (BODY[] {5000}\r\n")
        let decoder = IMAPResponseDecoder(maximumLiteralSize: 4096)
        #expect(throws: IMAPError.literalTooLarge(5000)) { _ = try decoder.decode(&buffer) }
        var huge = ByteBuffer(string: "* 1 FETCH (BODY[] {99999999999999999999}\r\n")
        #expect(throws: IMAPError.self) { _ = try decoder.decode(&huge) }
    }

    @Test func manyLiteralsInOneResponseAreBounded() throws {
        var text = "* 1 FETCH ("
        for _ in 0..<100 { text += "X {1}\r\na " }
        var buffer = ByteBuffer(string: text + ")\r\n")
        #expect(throws: IMAPError.self) { _ = try IMAPResponseDecoder().decode(&buffer) }
    }

    @Test func garbageIsMalformedOrIncompleteNeverATrap() throws {
        var buffer = ByteBuffer(string: "\r\n")
        #expect(throws: IMAPError.self) { _ = try IMAPResponseDecoder().decode(&buffer) }
        var rng = SplitMix64(seed: 0x1AAB)
        for _ in 0..<5000 {
            var random = ByteBuffer(bytes: rng.bytes(count: Int(rng.next() % 300)))
            while let response = try? IMAPResponseDecoder().decode(&random) { _ = try? IMAPFetchData(response) }
        }
    }

    @Test(arguments: [
        "2 FETCH (UID 9 RFC822.SIZE 1234)",
        "2 FETCH (RFC822.SIZE 1234 FLAGS (\\Seen \\Recent) UID 9 INTERNALDATE \"01-Jan-2026 00:00:00 +0000\")",
        "2 FETCH (MODSEQ (12) UID 9 BODY[HEADER.FIELDS (FROM)] \"x\" RFC822.SIZE 1234)",
    ])
    func fetchAttributesInAnyOrderWithOthersSkipped(_ text: String) throws {
        let data = try #require(try IMAPFetchData(IMAPResponse(kind: .untagged, text: Array(text.utf8))))
        #expect(data.uid == 9)
        #expect(data.size == 1234)
    }
}

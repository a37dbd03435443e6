import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Testing
@testable import Signalling

/// The one body reader of the admin API, /api/meetings and WHIP/WHEP: type, then size (declared or streamed), then
/// text or JSON, each failure a problem; refusals by size are counted.
@Suite struct RequestBodyReaderTests {
    static let tooLarge = Problem(status: 413, code: "offer-too-large", title: "Offer too large", detail: "at most 16 bytes")
    static let notText = Problem(status: 400, code: "sdp-invalid", title: "Invalid SDP offer", detail: "not text")

    /// SDP-like bodies of at most 16 bytes, or (not `expecting` a type) any body of at most 1 KiB.
    static func reader(_ counters: LimitCounters, expecting: Bool = true) -> RequestBodyReader {
        RequestBodyReader(maximumSize: expecting ? 16 : 1024, tooLarge: tooLarge,
                          expected: expecting ? .init(mediaType: "application/sdp", title: "SDP offer expected", what: "the offer") : nil,
                          refusedForSize: { counters.count(.offerSize) })
    }

    static func request(_ headers: HTTPFields, _ body: RequestBody) -> Request {
        Request(head: HTTPRequest(method: .post, scheme: "http", authority: "127.0.0.1", path: "/whip/r", headerFields: headers), body: body)
    }

    static func refusal(_ body: () async throws(Problem) -> Void) async -> Problem? {
        do { try await body() } catch { return error }
        return nil
    }

    static func offerSizeRefusals(_ counters: LimitCounters) -> UInt64 {
        counters.snapshot().first { $0.limit == .offerSize }?.count ?? 0
    }

    @Test(arguments: [("application/sdp", true), ("Application/SDP; charset=utf-8", true), ("application/json", false), (nil, false)])
    func takesOnlyTheMediaTypeItExpects(contentType: String?, taken: Bool) async {
        var headers = HTTPFields()
        if let contentType { headers[.contentType] = contentType }
        let counters = LimitCounters()
        var text: String?
        let refusal = await Self.refusal { () async throws(Problem) in
            text = try await Self.reader(counters).text(of: Self.request(headers, RequestBody(buffer: ByteBuffer(string: "v=0"))),
                                                        notText: Self.notText)
        }
        #expect((refusal == nil) == taken)
        #expect(text == (taken ? "v=0" : nil))
        if let refusal {
            #expect(refusal.statusCode == 415 && refusal.code == "unsupported-media-type" && refusal.title == "SDP offer expected")
            #expect(refusal.detail == "Send the offer with 'Content-Type: application/sdp' (got '\(contentType?.lowercased() ?? "none")').")
        }
        #expect(Self.offerSizeRefusals(counters) == 0)
    }

    @Test func refusesADeclaredLengthOverTheLimitBeforeReadingAndCountsIt() async {
        let counters = LimitCounters()
        let headers: HTTPFields = [.contentType: "application/sdp", .contentLength: "17"]
        let refusal = await Self.refusal { () async throws(Problem) in
            _ = try await Self.reader(counters).bytes(of: Self.request(headers, RequestBody(buffer: ByteBuffer(string: "v=0"))))
        }
        #expect(refusal == Self.tooLarge)
        #expect(Self.offerSizeRefusals(counters) == 1)
    }

    @Test func refusesAStreamedBodyThatGrowsPastTheLimitAndCountsIt() async {
        let counters = LimitCounters()
        // No Content-Length: two chunks, 20 bytes in all.
        let (chunks, more) = AsyncStream.makeStream(of: ByteBuffer.self)
        more.yield(ByteBuffer(string: "v=0\r\n"))
        more.yield(ByteBuffer(string: "a=x\r\na=y\r\na=z\r\n"))
        more.finish()
        let refusal = await Self.refusal { () async throws(Problem) in
            _ = try await Self.reader(counters).bytes(of: Self.request([.contentType: "application/sdp"],
                                                                       RequestBody(asyncSequence: chunks)))
        }
        #expect(refusal == Self.tooLarge)
        #expect(Self.offerSizeRefusals(counters) == 1)
    }

    @Test func takesABodyOfExactlyTheLimit() async throws {
        let counters = LimitCounters()
        let body = try await Self.reader(counters).bytes(of: Self.request([.contentType: "application/sdp", .contentLength: "16"],
                                                                          RequestBody(buffer: ByteBuffer(string: "0123456789abcdef"))))
        #expect(body.readableBytes == 16)
        #expect(Self.offerSizeRefusals(counters) == 0)
    }

    @Test func anEmptyJSONBodyIsTheDefaultWhenThereIsOne() async throws {
        let reader = Self.reader(LimitCounters(), expecting: false)
        let empty = Self.request([:], RequestBody(buffer: ByteBuffer()))
        let room = try await reader.json(AdminWire.CreateRoom.self, of: empty, decoder: AdminWire.makeDecoder(), empty: AdminWire.CreateRoom(name: "d"))
        #expect(room.name == "d")
        let refusal = await Self.refusal { () async throws(Problem) in
            _ = try await reader.json(AdminWire.LinkRequest.self, of: empty, decoder: AdminWire.makeDecoder(), empty: nil)
        }
        #expect(refusal?.code == "bad-json" && refusal?.statusCode == 400)
    }

    @Test(arguments: [
        (#"{"participants":[{"identity":"a"}]}"#, "missing field 'participants[0].role'"),
        (#"{"participants":[],"ttl":"soon"}"#, "'ttl' should be a number"),
        (#"{"participants":null}"#, "'participants' should be an array, not null"),
        (#"{"participants":"#, "The body is not valid JSON: "),
    ])
    func aJSONBodyThatIsNotTheShapeExpectedSaysWhichField(json: String, detail: String) async {
        let refusal = await Self.refusal { () async throws(Problem) in
            _ = try await Self.reader(LimitCounters(), expecting: false)
                .json(AdminWire.LinkRequest.self, of: Self.request([:], RequestBody(buffer: ByteBuffer(string: json))),
                      decoder: AdminWire.makeDecoder(), empty: nil)
        }
        #expect(refusal?.code == "bad-json")
        #expect(refusal?.detail.hasPrefix(detail) == true, "\(refusal?.detail ?? "-")")
    }
}

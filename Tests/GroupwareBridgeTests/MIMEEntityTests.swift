import Testing
@testable import GroupwareBridge

@Suite struct MIMEEntityTests {
    @Test func foldedHeadersAreUnfoldedAndNamesCaseInsensitive() throws {
        let entity = try MIMEEntity(parsing: Array("SUBJECT: one\r\n two\r\n\tthree\r\ncontent-type: TEXT/Plain;\r\n charset=\"UTF-8\"\r\n\r\nbody".utf8))
        #expect(entity.header("Subject") == "one two\tthree")
        #expect(entity.contentType.mediaType == "text/plain")
        #expect(entity.contentType.parameter("CHARSET") == "UTF-8")
        #expect(entity.body == Array("body".utf8))
    }

    @Test func contentTypeParametersQuotedOrNot() {
        let type = MIMEContentType(parsing: "multipart/alternative; boundary=\"a b;c\\\"d\"; method=REPLY ;charset = utf-8")
        #expect(type.parameter("boundary") == "a b;c\"d")
        #expect(type.parameter("method") == "REPLY")
        #expect(type.parameter("charset") == "utf-8")
        #expect(MIMEContentType(parsing: "garbage") == .default)
    }

    @Test func multipartSplitsOnBoundaryLinesOnly() throws {
        let mail = "Content-Type: multipart/mixed; boundary=xyz\n\npreamble --xyz\n--xyz\n\none\n--xyzz not me\n--xyz  \nContent-Type: text/html\n\n<p>two</p>\n--xyz--\nepilogue"
        let entity = try MIMEEntity(parsing: Array(mail.utf8))
        #expect(entity.parts.count == 2)
        #expect(entity.parts[0].body == Array("one\n--xyzz not me".utf8))
        #expect(entity.parts[1].contentType.mediaType == "text/html")
        #expect(entity.parts[1].body == Array("<p>two</p>".utf8))
    }

    @Test func transferEncodingsAndCharsets() throws {
        let qp = "Content-Transfer-Encoding: quoted-printable\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf=E9 =\nau lait=20  \n= x"
        #expect(try MIMEEntity(parsing: Array(qp.utf8)).text() == "café au lait \r\n= x")
        let b64 = "Content-Transfer-Encoding: BASE64\nContent-Type: text/plain; charset=utf-8\n\n4KSu4KSC\n4KSl4KSo"
        #expect(try MIMEEntity(parsing: Array(b64.utf8)).text() == "मंथन")
        let bad = "Content-Transfer-Encoding: base64\n\n!!!!"
        #expect(throws: MIMEError.self) { try MIMEEntity(parsing: Array(bad.utf8)).decodedBody() }
        let unknown = "Content-Type: text/plain; charset=koi8-r\n\nx"
        #expect(throws: MIMEError.unsupported("charset 'koi8-r'")) { try MIMEEntity(parsing: Array(unknown.utf8)).text() }
    }

    @Test func partCountIsLimited() {
        var mail = "Content-Type: multipart/mixed; boundary=b\n\n"
        for _ in 0..<101 { mail += "--b\n\nx\n" }
        #expect(throws: MIMEError.limitExceeded("more than 100 parts")) { try MIMEEntity(parsing: Array(mail.utf8)) }
    }
}

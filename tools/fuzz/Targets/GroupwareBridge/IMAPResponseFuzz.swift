import NIOCore
@testable import GroupwareBridge

/// Bytes from an IMAP server: cut into responses by `IMAPResponseDecoder` (small limits, so the bounds are reached)
/// in two reads at a split the input chooses, each response read as FETCH data. A decoded response must have
/// consumed bytes, and the same bytes in one read must give the same responses.
enum IMAPResponseFuzz {
    static let name = "imap"

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        guard let first = data.first else { return }
        let bytes = Array(data.dropFirst())
        let cut = bytes.isEmpty ? 0 : Int(first) % (bytes.count + 1)
        let split = decode([Array(bytes[..<cut]), Array(bytes[cut...])])
        let whole = decode([bytes])
        try check(split == whole, name, "responses depend on how the bytes were cut")
    }

    static func decode(_ chunks: [[UInt8]]) -> [IMAPResponse] {
        let decoder = IMAPResponseDecoder(maximumLineLength: 256, maximumLiteralSize: 512, maximumLiterals: 4)
        var buffer = ByteBuffer()
        var responses: [IMAPResponse] = []
        for chunk in chunks {
            buffer.writeBytes(chunk)
            while true {
                let before = buffer.readableBytes
                guard let response = try? decoder.decode(&buffer) else { break }
                if buffer.readableBytes >= before { return responses + [response] }  // no progress: stop
                _ = try? IMAPFetchData(response)
                responses.append(response)
            }
        }
        return responses
    }
}

import Foundation
import NIOCore
import NIOPosix
@testable import GroupwareBridge

/// A small valid event for the CalDAV tests (CRLF line ends, as RFC 5545 section 3.1 wants).
enum CalDAVSample {
    static func event(uid: String, summary: String = "Quarterly review") -> String {
        [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Sabha//CalDAV tests//EN", "BEGIN:VEVENT", "UID:\(uid)",
            "DTSTAMP:20260301T080000Z", "DTSTART:20260304T083000Z", "DTEND:20260304T093000Z", "SUMMARY:\(summary)",
            "END:VEVENT", "END:VCALENDAR",
        ].joined(separator: "\r\n") + "\r\n"
    }
}

/// An HTTP server that reads one request (head and Content-Length body), sends `answer` verbatim and closes.
final class OneShotHTTPServer: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    final class Answerer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let answer: String
        var received = ByteBuffer()
        var answered = false

        init(_ answer: String) { self.answer = answer }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            received.writeBuffer(&bytes)
            let view = received.readableBytesView
            guard !answered, let end = view.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
            let head = String(decoding: view[view.startIndex..<end.lowerBound], as: UTF8.self).lowercased()
            let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            guard view.endIndex - end.upperBound >= length else { return }
            answered = true
            let channel = context.channel
            context.writeAndFlush(NIOAny(ByteBuffer(string: answer))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    init(answer: String) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Answerer(answer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async {
        try? await channel.close()
    }
}

import Foundation
import NIOCore
import NIOConcurrencyHelpers
import NIOPosix
@testable import GroupwareBridge

/// A TCP listener that accepts and then either stays silent or sends `greeting` bytes.
final class RawTCPServer: @unchecked Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    final class Greeter: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let greeting: String
        init(_ greeting: String) { self.greeting = greeting }
        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(NIOAny(ByteBuffer(string: greeting)), promise: nil)
            context.fireChannelActive()
        }
    }

    init(greeting: String? = nil) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    if let greeting { try child.pipeline.syncOperations.addHandler(Greeter(greeting)) }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async {
        try? await channel.close()
    }
}

/// A TCP server that plays a script: `greeting` on connect, then one scripted answer per command
/// line (message content between a 354 and the final "." is skipped; the answer "<close>" hangs up). Commands it
/// received are kept in `received` for the test to check.
final class ScriptedSMTPServer: @unchecked Sendable {
    let channel: any Channel
    let received = NIOLockedValueBox<[String]>([])
    var port: Int { channel.localAddress!.port! }

    final class Player: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let greeting: String
        var answers: [String]
        let received: NIOLockedValueBox<[String]>
        var buffer = ByteBuffer()
        var inData = false

        init(greeting: String, answers: [String], received: NIOLockedValueBox<[String]>) {
            self.greeting = greeting
            self.answers = answers
            self.received = received
        }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(NIOAny(ByteBuffer(string: greeting)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            buffer.writeBuffer(&bytes)
            while let line = buffer.readLine() {
                if inData {
                    if line == "." { inData = false } else { continue }
                }
                received.withLockedValue { $0.append(line) }
                guard !answers.isEmpty else { return }
                let answer = answers.removeFirst()
                if answer == "<close>" {
                    context.close(promise: nil)
                    return
                }
                if answer.hasPrefix("354") { inData = true }
                context.writeAndFlush(NIOAny(ByteBuffer(string: answer)), promise: nil)
            }
        }
    }

    init(greeting: String = "220 scripted ESMTP\r\n", answers: [String]) async throws {
        let received = self.received
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(
                        Player(greeting: greeting, answers: answers, received: received))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async {
        try? await channel.close()
    }
}

extension ByteBuffer {
    /// One CRLF-terminated line without its end, or nil when none is complete.
    mutating func readLine() -> String? {
        guard let crlf = readableBytesView.firstRange(of: [UInt8(ascii: "\r"), UInt8(ascii: "\n")]) else { return nil }
        let line = readString(length: crlf.lowerBound - readerIndex)!
        moveReaderIndex(forwardBy: 2)
        return line
    }
}

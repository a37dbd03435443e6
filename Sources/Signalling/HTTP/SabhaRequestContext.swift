import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// Our request context: WebSocket upgrades plus the peer address (for the audit trail and logs).
public struct SabhaRequestContext: RequestContext, WebSocketRequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    public let remoteAddress: SocketAddress?
    /// The connection, so a WebSocket whose peer stops reading or answering can be dropped.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }
}

import HTTPTypes
import Hummingbird
import Logging

/// `--http-redirect`: a plain-HTTP listener beside the TLS one that sends every request to the HTTPS address, so an
/// officer who types the bare name lands on the meeting page (browsers give the camera only to https pages).
/// 308 keeps the method and body, for the odd client that POSTs to http.
enum HTTPSRedirect {
    static func application(host: String, port: Int, publicURL: String, httpsPort: Int, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: RedirectMiddleware(publicURL: publicURL, httpsPort: httpsPort))
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "Sabha"),
                           onServerRunning: { [logger] channel in
                               logger.info("plain HTTP redirects to HTTPS", metadata: ["http": "\(host):\(channel.localAddress?.port ?? port)"])
                           },
                           logger: logger)
    }

    /// Where a request for `target` (path and query) goes: under the public URL when it is https, else to the host the
    /// browser asked for, on the HTTPS port.
    static func location(publicURL: String, httpsPort: Int, requestHost: String?, target: String) -> String {
        if publicURL.hasPrefix("https://") { return publicURL + target }
        var host = requestHost ?? "localhost"
        // Drop the port the browser used for plain HTTP ("[::1]:80" keeps its brackets).
        if let colon = host.lastIndex(of: ":"), !host[colon...].contains("]") { host = String(host[..<colon]) }
        if !SecurityHeadersMiddleware<BasicRequestContext>.isPlainHost(host) { host = "localhost" }
        return "https://\(host)\(httpsPort == 443 ? "" : ":\(httpsPort)")\(target)"
    }

    struct RedirectMiddleware<Context: RequestContext>: RouterMiddleware {
        let publicURL: String
        let httpsPort: Int

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            let target = request.uri.string.hasPrefix("/") ? request.uri.string : "/"
            let location = HTTPSRedirect.location(publicURL: publicURL, httpsPort: httpsPort, requestHost: request.head.authority, target: target)
            return Response(status: .permanentRedirect, headers: [.location: location, .contentLength: "0"])
        }
    }
}

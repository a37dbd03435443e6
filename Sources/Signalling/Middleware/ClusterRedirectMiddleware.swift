import Foundation
import HTTPTypes
import Hummingbird

/// In a cluster, the admin API's requests about one room (`/api/rooms/{room}…`, and `/api/meetings/{id}…`, whose
/// room is named after the meeting) go to the node holding its meeting: that is where its participants are, so
/// ending the meeting, withdrawing a link, dropping an attendee or listing who is in must happen there. A 307 keeps
/// the method and body; a room no node holds is served here.
struct ClusterRedirectMiddleware<Context: RequestContext>: RouterMiddleware {
    let placement: RoomPlacement

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count >= 3, parts[0] == "api", parts[1] == "rooms" || parts[1] == "meetings",
              let room = String(parts[2]).removingPercentEncoding,
              let holder = placement.holder(of: room) else {
            return try await next(request, context)
        }
        let location = RoomPlacement.location(on: holder, path: request.uri.path, query: request.uri.query)
        return Response(status: .temporaryRedirect, headers: [.location: location])
    }
}

import Foundation
import Hummingbird

/// The browser client (Public/), read once at start from the module's resources and served from memory. Its
/// subfolders (`lib/`, `meeting/`, `demo/`: the ES modules the pages import) are served under the same paths.
struct StaticFiles: Sendable {
    struct File: Sendable {
        var contentType: String
        var bytes: ByteBuffer
    }

    let files: [String: File]

    init() throws {
        guard let root = Bundle.module.url(forResource: "Public", withExtension: nil) else {
            throw SignallingError.configuration("the web client resources (Public/) are missing from the Signalling bundle")
        }
        var files: [String: File] = [:]
        let types = ["html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
                     "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon"]
        for name in try FileManager.default.subpathsOfDirectory(atPath: root.path) {
            let url = root.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let data = FileManager.default.contents(atPath: url.path) else { continue }
            files["/" + name] = File(contentType: types[url.pathExtension] ?? "application/octet-stream", bytes: ByteBuffer(bytes: data))
        }
        files["/"] = files["/index.html"]
        self.files = files
    }

    func register(on router: Router<some RequestContext>) {
        if let meeting = files["/meeting.html"] {
            router.get("/m/:room") { _, _ in
                Response(status: .ok, headers: [.contentType: meeting.contentType, .cacheControl: "no-cache"],
                         body: .init(byteBuffer: meeting.bytes))
            }
        }
        for (path, file) in files {
            router.get(RouterPath(path)) { _, _ in
                Response(status: .ok, headers: [.contentType: file.contentType, .cacheControl: "no-cache"],
                         body: .init(byteBuffer: file.bytes))
            }
        }
    }
}

/// The composed picture in I420, drawn into for every output frame: cleared to black, then each tile's picture
/// scaled into its rectangle (nearest neighbour, from tables made once per rectangle and source size).
struct Canvas {
    let width: Int
    let height: Int
    var pixels: [UInt8]

    /// Video black (BT.601 limited range).
    static let black: (y: UInt8, u: UInt8, v: UInt8) = (16, 128, 128)

    init(width: Int, height: Int) {
        precondition(width % 2 == 0 && height % 2 == 0, "the canvas' sides are even")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3 / 2)
        clear()
    }

    mutating func clear() {
        let luma = width * height
        pixels.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.update(repeating: Self.black.y, count: luma)
            (buffer.baseAddress! + luma).update(repeating: Self.black.u, count: luma / 4)
            (buffer.baseAddress! + luma + luma / 4).update(repeating: Self.black.v, count: luma / 4)
        }
    }

    /// Draws `picture` scaled into `rect` (even position and size, inside the canvas).
    mutating func draw(_ picture: Picture, in rect: Rect) {
        guard picture.width > 0, picture.height > 0, rect.width > 0, rect.height > 0,
              rect.x >= 0, rect.y >= 0, rect.x + rect.width <= width, rect.y + rect.height <= height else { return }
        let luma = width * height
        picture.pixels.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                Self.scale(from: source.baseAddress!, width: picture.width, height: picture.height, stride: picture.width,
                           to: target.baseAddress! + rect.y * width + rect.x, width: rect.width, height: rect.height, stride: width)
                let chroma = Rect(x: rect.x / 2, y: rect.y / 2, width: rect.width / 2, height: rect.height / 2)
                for plane in 0..<2 {
                    Self.scale(from: source.baseAddress! + picture.lumaCount + plane * picture.chromaCount,
                               width: picture.chromaWidth, height: picture.chromaHeight, stride: picture.chromaWidth,
                               to: target.baseAddress! + luma + plane * luma / 4 + chroma.y * width / 2 + chroma.x,
                               width: chroma.width, height: chroma.height, stride: width / 2)
                }
            }
        }
    }

    private static func scale(from source: UnsafePointer<UInt8>, width: Int, height: Int, stride: Int,
                              to target: UnsafeMutablePointer<UInt8>, width outWidth: Int, height outHeight: Int, stride outStride: Int) {
        guard outWidth > 0, outHeight > 0 else { return }
        var columns = [Int](repeating: 0, count: outWidth)
        for x in 0..<outWidth { columns[x] = min(width - 1, (2 * x + 1) * width / (2 * outWidth)) }
        columns.withUnsafeBufferPointer { columns in
            for y in 0..<outHeight {
                let row = source + min(height - 1, (2 * y + 1) * height / (2 * outHeight)) * stride
                let out = target + y * outStride
                if outWidth == width {
                    out.update(from: row, count: width)
                } else {
                    for x in 0..<outWidth { out[x] = row[columns[x]] }
                }
            }
        }
    }
}

/// A rectangle on the canvas, in pixels.
struct Rect: Equatable {
    var x: Int
    var y: Int
    var width: Int
    var height: Int

    /// The largest rectangle of `width`:`height` inside this one, centred; even position and size (I420's chroma
    /// is half size).
    func fitting(width sourceWidth: Int, height sourceHeight: Int) -> Rect {
        guard sourceWidth > 0, sourceHeight > 0 else { return Rect(x: x, y: y, width: 0, height: 0) }
        var fitWidth = width, fitHeight = height
        if sourceWidth * height > sourceHeight * width {
            fitHeight = width * sourceHeight / sourceWidth
        } else {
            fitWidth = height * sourceWidth / sourceHeight
        }
        fitWidth &= ~1
        fitHeight &= ~1
        return Rect(x: (x + (width - fitWidth) / 2) & ~1, y: (y + (height - fitHeight) / 2) & ~1, width: fitWidth, height: fitHeight)
    }
}

import CVPX

/// A decoded picture in I420 (a full-size luma plane, then two half-size chroma planes, rows without padding), kept
/// in memory of its own: libvpx reuses its buffers with the next frame a decoder is given.
final class Picture {
    private(set) var width = 0
    private(set) var height = 0
    private(set) var pixels: [UInt8] = []

    var chromaWidth: Int { (width + 1) / 2 }
    var chromaHeight: Int { (height + 1) / 2 }
    var lumaCount: Int { width * height }
    var chromaCount: Int { chromaWidth * chromaHeight }

    /// Copies an I420 image from libvpx, row by row (its rows are padded to its strides).
    func copy(from image: UnsafePointer<vpx_image_t>) {
        let image = image.pointee
        let newWidth = Int(image.d_w), newHeight = Int(image.d_h)
        if newWidth != width || newHeight != height {
            width = newWidth
            height = newHeight
            pixels = [UInt8](repeating: 0, count: lumaCount + 2 * chromaCount)
        }
        let planes = [image.planes.0, image.planes.1, image.planes.2]
        let strides = [Int(image.stride.0), Int(image.stride.1), Int(image.stride.2)]
        pixels.withUnsafeMutableBufferPointer { out in
            var offset = 0
            for plane in 0..<3 {
                guard let source = planes[plane] else { return }
                let rowBytes = plane == 0 ? width : chromaWidth, rows = plane == 0 ? height : chromaHeight
                for row in 0..<rows {
                    (out.baseAddress! + offset + row * rowBytes).update(from: source + row * strides[plane], count: rowBytes)
                }
                offset += rowBytes * rows
            }
        }
    }
}

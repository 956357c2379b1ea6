import TensorCore

extension CPUEngine {
    /// `y[n][p][c] = x[n][c][p]`: NCHW float32 to NHWC, as float32 or (when `bfloat16`) rounded bfloat16 bit
    /// patterns, in tiles that stay in L1 on the engine's threads (oneDNN 2.6's reorder of large maps runs at about
    /// 1.2 GB/s).
    func toChannelsLast(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, batch: Int, channels: Int, pixels: Int,
                        bfloat16: Bool) {
        let tile = Self.transposeTile
        let pixelTiles = (pixels + tile - 1) / tile
        parallelFor(batch * pixelTiles) { range in
            for item in range {
                let n = item / pixelTiles, p0 = (item % pixelTiles) * tile, p1 = min(pixels, p0 + tile)
                let source = x + n * channels * pixels
                for c0 in stride(from: 0, to: channels, by: tile) {
                    let c1 = min(channels, c0 + tile)
                    if bfloat16 {
                        let out = y.assumingMemoryBound(to: UInt16.self) + n * pixels * channels
                        for c in c0..<c1 {
                            let row = source + c * pixels
                            for p in p0..<p1 { out[p * channels + c] = BFloat16Rounding.bits(row[p]) }
                        }
                    } else {
                        let out = y.assumingMemoryBound(to: Float.self) + n * pixels * channels
                        for c in c0..<c1 {
                            let row = source + c * pixels
                            for p in p0..<p1 { out[p * channels + c] = row[p] }
                        }
                    }
                }
            }
        }
    }

    /// `y[n][c][p] = x[n][p][c]`: NHWC float32 back to NCHW, tiled as ``toChannelsLast(_:_:batch:channels:pixels:bfloat16:)``.
    func fromChannelsLast(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, channels: Int,
                          pixels: Int) {
        let tile = Self.transposeTile
        let pixelTiles = (pixels + tile - 1) / tile
        parallelFor(batch * pixelTiles) { range in
            for item in range {
                let n = item / pixelTiles, p0 = (item % pixelTiles) * tile, p1 = min(pixels, p0 + tile)
                let source = x + n * pixels * channels, out = y + n * channels * pixels
                for c0 in stride(from: 0, to: channels, by: tile) {
                    let c1 = min(channels, c0 + tile)
                    for c in c0..<c1 {
                        let row = out + c * pixels
                        for p in p0..<p1 { row[p] = source[p * channels + c] }
                    }
                }
            }
        }
    }

    /// Tile edge (elements) of the layout transposes: 64×64 floats read and written stay within L1.
    static let transposeTile = 64
}

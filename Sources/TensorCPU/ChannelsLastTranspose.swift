import Dispatch
import Foundation
import TensorCore

extension CPUEngine {
    /// `y[n][p][c] = x[n][c][p]`: NCHW float32 to NHWC, as float32 or (when `bfloat16`) rounded bfloat16 bit
    /// patterns, in tiles that stay in L1 on the engine's threads (oneDNN 2.6's reorder of large maps runs at about
    /// 1.2 GB/s).
    func toChannelsLast(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, batch: Int, channels: Int, pixels: Int,
                        bfloat16: Bool) {
        forEachTile(batch: batch, channels: channels, pixels: pixels) { n, c, p in
            let row = x + (n * channels + c) * pixels
            let base = n * pixels * channels + c
            if bfloat16 {
                let out = y.assumingMemoryBound(to: UInt16.self) + base
                for i in p { out[i * channels] = BFloat16Rounding.bits(row[i]) }
            } else {
                let out = y.assumingMemoryBound(to: Float.self) + base
                for i in p { out[i * channels] = row[i] }
            }
        }
    }

    /// `y[n][c][p] = x[n][p][c]`: NHWC float32 back to NCHW, tiled as ``toChannelsLast(_:_:batch:channels:pixels:bfloat16:)``.
    func fromChannelsLast(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, channels: Int,
                          pixels: Int) {
        Self.transposeFromChannelsLast(x, y, batch: batch, channels: channels, pixels: pixels, threads: threads)
    }

    /// ``fromChannelsLast(_:_:batch:channels:pixels:)`` without an engine, on `threads` threads (all online cores by
    /// default).
    static func transposeFromChannelsLast(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                                          channels: Int, pixels: Int, threads: Int = onlineCores) {
        forEachTile(batch: batch, channels: channels, pixels: pixels, threads: threads) { n, c, p in
            let row = y + (n * channels + c) * pixels, source = x + n * pixels * channels + c
            for i in p { row[i] = source[i * channels] }
        }
    }

    private func forEachTile(batch: Int, channels: Int, pixels: Int, _ body: (Int, Int, Range<Int>) -> Void) {
        Self.forEachTile(batch: batch, channels: channels, pixels: pixels, threads: threads, body)
    }

    /// Calls `body(n, c, pixelRange)` for every channel `c` of every tile of ``transposeTile`` channels by
    /// ``transposeTile`` pixels, the tiles spread over `threads` threads (each pixel range goes to one thread).
    private static func forEachTile(batch: Int, channels: Int, pixels: Int, threads: Int,
                                    _ body: (Int, Int, Range<Int>) -> Void) {
        let tile = Self.transposeTile
        let pixelTiles = (pixels + tile - 1) / tile
        CPUEngine.parallelFor(batch * pixelTiles, threads: max(1, threads)) { range in
            for item in range {
                let n = item / pixelTiles, p0 = (item % pixelTiles) * tile
                let p = p0..<min(pixels, p0 + tile)
                for c0 in stride(from: 0, to: channels, by: tile) {
                    for c in c0..<min(channels, c0 + tile) { body(n, c, p) }
                }
            }
        }
    }

    /// The number of online cores.
    static let onlineCores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Tile edge (elements) of the layout transposes: 64×64 floats read and written stay within L1.
    static let transposeTile = 64
}

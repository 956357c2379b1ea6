import TensorCore

/// Tiled decoding and encoding as ComfyUI's `VAEDecodeTiled` / `VAEEncodeTiled` nodes run them (`VAE.decode_tiled_`,
/// `VAE.encode_tiled_` over ``TiledScale``): three passes with tiles of `(w, h)`, `(w/2, 2h)` and `(2w, h/2)`,
/// averaged, so that no seam falls in the same place in every pass.
extension AutoencoderKL {
    /// Decodes in overlapping tiles, bounding memory by the tile size (e.g. 2048×2048 images).
    ///
    /// As `VAEDecodeTiled`: when `tileSize < 4·overlap` the overlap becomes `tileSize/4`; both are then divided by
    /// ``compression`` to give latent tiles. A latent no larger than half a tile each way decodes in one piece in
    /// every pass (the average of three equal decodes).
    ///
    /// A temporal decoder is tiled the same way (ComfyUI's `VAEDecodeTiled` has no temporal tiling for SVD's VAE):
    /// tiles are cut from one frame at a time, so every frame decodes as a one-frame video and the frames do not mix.
    ///
    /// - Parameters:
    ///   - latent: `[B, embedDim, h, w]` in VAE space.
    ///   - tileSize: tile side in pixels (ComfyUI's default 512).
    ///   - overlap: overlap in pixels (default 64).
    /// - Returns: float32 `[B, outChannels, f·h, f·w]` in the model's range, not clamped.
    public func decodeTiled(_ latent: Tensor, tileSize: Int, overlap: Int, backend: some Backend) -> Tensor {
        precondition(latent.rank == 4 && latent.shape[1] == configuration.embedDim,
                     "VAE decode: latent \(latent.shape) is not [B, \(configuration.embedDim), h, w]")
        let overlap = tileSize < overlap * 4 ? tileSize / 4 : overlap
        let tile = tileSize / compression
        precondition(tile >= 2, "VAE decode: tile size \(tileSize) is below \(2 * compression) pixels")
        return decodeTiledLatent(latent, tileX: tile, tileY: tile, overlap: overlap / compression, backend: backend)
    }

    /// `VAE.decode_tiled_` with tiles and overlap in latent elements.
    func decodeTiledLatent(_ latent: Tensor, tileX: Int, tileY: Int, overlap: Int, backend: some Backend) -> Tensor {
        let factor = Double(compression)
        func pass(_ width: Int, _ height: Int) -> Tensor {
            TiledScale.apply(latent, tile: (height, width), overlap: overlap, factor: factor,
                             outChannels: configuration.outChannels) { decodeDirect($0, backend: backend) }
        }
        let tall = pass(tileX / 2, tileY * 2)
        let wide = pass(tileX * 2, tileY / 2)
        let square = pass(tileX, tileY)
        return Self.thirds(backend.add(backend.add(tall, wide), square), backend: backend)
    }

    /// Encodes in overlapping tiles, as `VAEEncodeTiled` (tile and overlap in pixels, used as given; an overlap
    /// larger than a quarter tile is reduced to it, where ComfyUI would fail on the half-size pass).
    ///
    /// Height and width that are not multiples of ``compression`` are first cropped as in ``encode(_:backend:)``.
    ///
    /// - Parameters:
    ///   - image: `[B, inChannels, H, W]` in −1…1.
    ///   - tileSize: tile side in pixels (ComfyUI's default 512).
    ///   - overlap: overlap in pixels (default 64).
    /// - Returns: float32 `[B, embedDim, H/f, W/f]` in VAE space.
    public func encodeTiled(_ image: Tensor, tileSize: Int, overlap: Int, backend: some Backend) -> Tensor {
        precondition(image.rank == 4 && image.shape[1] == configuration.inChannels,
                     "VAE encode: image \(image.shape) is not [B, \(configuration.inChannels), H, W]")
        precondition(tileSize >= 2 * compression, "VAE encode: tile size \(tileSize) is below \(2 * compression) pixels")
        let overlap = tileSize / 2 <= overlap ? tileSize / 4 : overlap
        let pixels = Self.cropToMultiple(image, of: compression)
        return encodeTiledPixels(pixels, tileX: tileSize, tileY: tileSize, overlap: overlap, backend: backend)
    }

    /// `VAE.encode_tiled_` with tiles and overlap in pixels.
    func encodeTiledPixels(_ pixels: Tensor, tileX: Int, tileY: Int, overlap: Int, backend: some Backend) -> Tensor {
        let factor = 1 / Double(compression)
        func pass(_ width: Int, _ height: Int) -> Tensor {
            TiledScale.apply(pixels, tile: (height, width), overlap: overlap, factor: factor,
                             outChannels: configuration.embedDim) { encodeDirect($0, backend: backend) }
        }
        var samples = pass(tileX, tileY)
        samples = backend.add(samples, pass(tileX * 2, tileY / 2))
        samples = backend.add(samples, pass(tileX / 2, tileY * 2))
        return Self.thirds(samples, backend: backend)
    }

    /// `x / 3` (a true division, as torch's, not a multiplication by a rounded third).
    static func thirds(_ x: Tensor, backend: some Backend) -> Tensor {
        backend.binary(.divide, x, Tensor(shape: [1], scalars: [3]))
    }
}

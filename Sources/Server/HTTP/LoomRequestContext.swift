import Hummingbird

/// The per-request context of Loom's router.
public struct LoomRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    /// Bodies are collected explicitly with the configured `--max-upload-size`, so the router's own
    /// limit is only a ceiling.
    public var maxUploadSize: Int { Int.max }
}

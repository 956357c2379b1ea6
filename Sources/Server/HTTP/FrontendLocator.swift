import Foundation

/// Finds the official ComfyUI web frontend and the workflow templates when no `--front-end-root` is given.
///
/// Order for the web root: the `LOOM_FRONTEND_ROOT` environment variable, then the
/// `comfyui_frontend_package/static` directory of the virtual environment `scripts/setup.sh` installs
/// (`$LOOM_WEB_VENV`, by default `~/.cache/loom-web/venv`). Templates: the directories listed in
/// `LOOM_TEMPLATES_ROOT` (separated by `:`), else the `templates/` directories of the
/// `comfyui_workflow_templates_*` packages (the JSON package first, then the media packages) found next to
/// the web root's package or in that virtual environment.
public struct FrontendLocator: Sendable {
    /// The virtual environment used when `LOOM_WEB_VENV` is not set, relative to the home directory.
    public static let defaultVenvRelativePath = ".cache/loom-web/venv"
    /// The web root inside an installed `comfyui-frontend-package`, relative to `site-packages`.
    public static let frontendPackageStatic = "comfyui_frontend_package/static"
    /// The directory of template workflows and `index*.json` inside `comfyui-workflow-templates-json`.
    public static let templatesJSONPackage = "comfyui_workflow_templates_json"

    /// What `GET /` answers when no web frontend is installed.
    public static let installHint = """
        Loom is running; its ComfyUI-compatible API is available (for example GET /object_info, POST /prompt).

        The web frontend is not installed. To use it, either
          - run scripts/setup.sh, which installs the official ComfyUI frontend and workflow templates into
            ~/.cache/loom-web/venv (Loom finds them there when it starts), or
          - pass --front-end-root DIR (or set LOOM_FRONTEND_ROOT) pointing at a frontend build directory
            containing index.html.

        """

    /// The environment variables consulted.
    public var environment: [String: String]
    /// The home directory the default virtual environment lives under.
    public var home: String

    /// A locator reading the process environment and home directory unless others are given (tests).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, home: String = NSHomeDirectory()) {
        self.environment = environment
        self.home = home
    }

    /// The virtual environment `scripts/setup.sh` installs the web packages into.
    public var venv: String {
        if let path = environment["LOOM_WEB_VENV"], !path.isEmpty { return (path as NSString).expandingTildeInPath }
        return (home as NSString).appendingPathComponent(Self.defaultVenvRelativePath)
    }

    /// The `lib/python*/site-packages` directories of ``venv`` (newest Python first).
    public func sitePackages() -> [String] {
        let lib = (venv as NSString).appendingPathComponent("lib")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: lib)) ?? []
        return names.filter { $0.hasPrefix("python") }.sorted { $0.compare($1, options: .numeric) == .orderedDescending }
            .map { ((lib as NSString).appendingPathComponent($0) as NSString).appendingPathComponent("site-packages") }
            .filter(Self.isDirectory)
    }

    /// The web root to serve: `LOOM_FRONTEND_ROOT` when set, else the installed frontend package; `nil` when
    /// there is none (the API still works and `GET /` explains how to install the frontend).
    public func webRoot() -> String? {
        if let path = environment["LOOM_FRONTEND_ROOT"], !path.isEmpty {
            let expanded = (path as NSString).expandingTildeInPath
            return Self.isDirectory(expanded) ? Self.absolute(expanded) : nil
        }
        for site in sitePackages() {
            let candidate = (site as NSString).appendingPathComponent(Self.frontendPackageStatic)
            if Self.isFile((candidate as NSString).appendingPathComponent("index.html")) { return candidate }
        }
        return nil
    }

    /// The directories `GET /templates/{path}` serves from, in lookup order (empty when none is installed).
    ///
    /// - Parameter webRoot: the web root in use; when it is an installed `comfyui_frontend_package/static`, the
    ///   template packages of the same `site-packages` are preferred.
    public func templateDirectories(webRoot: String? = nil) -> [String] {
        if let list = environment["LOOM_TEMPLATES_ROOT"], !list.isEmpty {
            return list.split(separator: ":").map { Self.absolute((String($0) as NSString).expandingTildeInPath) }
                .filter(Self.isDirectory)
        }
        var sites: [String] = []
        if let webRoot, webRoot.hasSuffix("/" + Self.frontendPackageStatic) {
            sites.append(String(webRoot.dropLast(Self.frontendPackageStatic.count + 1)))
        }
        sites += sitePackages()
        for site in sites {
            let found = Self.templateDirectories(inSitePackages: site)
            if !found.isEmpty { return found }
        }
        return []
    }

    /// The `templates/` directories of the `comfyui_workflow_templates_*` packages under `site`: the JSON
    /// package first, then the others (media) by name; empty without the JSON package.
    static func templateDirectories(inSitePackages site: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: site)) ?? []
        let packages = names.filter { $0.hasPrefix("comfyui_workflow_templates_") && !$0.contains(".") }.sorted()
        guard packages.contains(templatesJSONPackage) else { return [] }
        let ordered = [templatesJSONPackage] + packages.filter { $0 != templatesJSONPackage }
        return ordered.map { ((site as NSString).appendingPathComponent($0) as NSString).appendingPathComponent("templates") }
            .filter(isDirectory)
    }

    static func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }

    static func isFile(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && !directory.boolValue
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return (path as NSString).standardizingPath }
        return ((FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path) as NSString).standardizingPath
    }
}

import TensorCore

/// Reads a module's parameters from a ``ParameterSource`` under a key prefix and records every key
/// read, missing, misshapen or left over.
///
/// Use: create a loader, build the module from ``root`` (its initializer reads each parameter by its
/// own key name through child scopes), then call ``finish(module:)``, which throws
/// ``ParameterLoadError`` unless every needed key was found with the right shape and no key under
/// the prefix was left unread (apart from those `ignoring` names). A missing parameter is replaced by
/// a zero-stride zero view while loading, so building completes and the report lists every problem
/// at once.
///
/// Not thread-safe: one loader is used by one thread while a model is built.
public final class ParameterLoader {
    public let source: any ParameterSource
    public let prefix: String
    private let ignoring: (String) -> Bool
    private var read: Set<String> = []
    private var report = ParameterLoadReport()

    /// - Parameters:
    ///   - source: where the tensors come from.
    ///   - prefix: prepended to every parameter path (e.g. `cond_stage_model.transformer.text_model.`).
    ///   - ignoring: full keys under `prefix` that are known to be unused and are reported as ignored.
    public init(source: any ParameterSource, prefix: String = "", ignoring: @escaping (String) -> Bool = { _ in false }) {
        self.source = source
        self.prefix = prefix
        self.ignoring = ignoring
    }

    /// The scope of the module's root (paths relative to `prefix`).
    public var root: ParameterScope { ParameterScope(loader: self, path: "") }

    func load(_ path: String, shape: [Int], optional: Bool) -> Tensor? {
        let key = prefix + path
        read.insert(key)
        guard let found = source.parameterShape(key) else {
            if optional { return nil }
            report.missing.append(key)
            return Self.placeholder(shape)
        }
        guard found == shape else {
            report.shapeMismatches.append(.init(key: key, expected: shape, found: found))
            return Self.placeholder(shape)
        }
        do {
            let tensor = try source.parameter(key)
            report.loaded += 1
            return tensor
        } catch {
            report.readFailures.append(.init(key: key, message: "\(error)"))
            return Self.placeholder(shape)
        }
    }

    /// Zeros of `shape` that occupy one float (a broadcast view).
    private static func placeholder(_ shape: [Int]) -> Tensor {
        Tensor(zeros: [Int](repeating: 1, count: shape.count)).expanded(to: shape)
    }

    /// The report so far, with unexpected and ignored keys computed from the source.
    public var currentReport: ParameterLoadReport {
        var result = report
        var unexpected: [String] = [], ignored: [String] = []
        for key in source.parameterKeys where key.hasPrefix(prefix) && !read.contains(key) {
            if ignoring(key) { ignored.append(key) } else { unexpected.append(key) }
        }
        result.unexpected = unexpected.sorted()
        result.ignored = ignored.sorted()
        result.missing.sort()
        result.shapeMismatches.sort { $0.key < $1.key }
        return result
    }

    /// The final report.
    ///
    /// - Parameter module: the module's name for the error message.
    /// - Throws: ``ParameterLoadError`` when the report is not clean.
    @discardableResult
    public func finish(module: String) throws(ParameterLoadError) -> ParameterLoadReport {
        let result = currentReport
        guard result.isClean else { throw ParameterLoadError(module: module, prefix: prefix, report: result) }
        return result
    }
}

/// A position in a module tree while loading: parameter reads go to `path.name`.
public struct ParameterScope {
    let loader: ParameterLoader
    /// The path of this scope relative to the loader's prefix ("" at the root).
    public let path: String

    /// The scope of the child `name` (names may contain dots: `to_out.0`).
    public func callAsFunction(_ name: String) -> ParameterScope {
        ParameterScope(loader: loader, path: key(name))
    }

    /// Reads the required parameter `name` with the given shape.
    public func tensor(_ name: String, shape: [Int]) -> Tensor {
        loader.load(key(name), shape: shape, optional: false)!
    }

    /// Reads parameter `name` when `present` is true; nil otherwise (the key is then not read, so a
    /// stray one is reported as unexpected).
    public func tensor(_ name: String, shape: [Int], if present: Bool) -> Tensor? {
        present ? tensor(name, shape: shape) : nil
    }

    private func key(_ name: String) -> String { path.isEmpty ? name : path + "." + name }
}

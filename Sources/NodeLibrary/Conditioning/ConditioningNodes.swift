import Diffusion
import TensorCore
import Workflow

/// ComfyUI's conditioning editing nodes (`nodes.py`): combining, averaging, concatenating and zeroing
/// conditionings, and the options the sampler reads per entry — area, strength, mask and timestep range.
enum ConditioningNodes {
    static func definitions(_ env: NodeEnvironment) -> [NodeDefinition] {
        [combine, average, concat, setArea, setAreaPercentage, setAreaStrength, setMask, zeroOut, setTimestepRange]
    }

    private static func schema(_ name: String, _ displayName: String, category: String = "conditioning",
                               _ inputs: [InputSpec]) -> NodeSchema {
        NodeSchema(name: name, displayName: displayName, category: category, pythonModule: "nodes", required: inputs,
                   outputs: [OutputSpec(SocketType.conditioning)])
    }

    private static func conditioningInput(_ name: String = "conditioning") -> InputSpec {
        InputSpec(name, .socket(SocketType.conditioning))
    }

    private static func strengthInput(_ name: String = "strength") -> InputSpec {
        InputSpec(name, .float(FloatOptions(default: 1, min: 0, max: 10, step: 0.01)))
    }

    private static func fractionInput(_ name: String, default value: Double, step: Double = 0.01) -> InputSpec {
        InputSpec(name, .float(FloatOptions(default: value, min: 0, max: 1, step: step)))
    }

    private static func result(_ conditioning: Conditioning) -> NodeResult {
        NodeResult(outputs: [.object(conditioning)])
    }

    /// `ConditioningCombine`: both lists of entries, one after the other (the sampler averages their predictions).
    static let combine = NodeDefinition(schema: schema("ConditioningCombine", "Conditioning (Combine)",
                                                       [conditioningInput("conditioning_1"), conditioningInput("conditioning_2")])) { inv in
        let first = try inv.object("conditioning_1", as: Conditioning.self)
        let second = try inv.object("conditioning_2", as: Conditioning.self)
        return result(Conditioning(first.entries + second.entries))
    }

    /// `ConditioningAverage` (ComfyUI's display-name table misspells its key, so the class name shows): each entry of `conditioning_to` blended with the first entry of `conditioning_from`
    /// (cut or zero-padded to its token count): `to·s + from·(1 − s)`, and the pooled outputs alike.
    static let average = NodeDefinition(schema: schema("ConditioningAverage", "ConditioningAverage", [
        conditioningInput("conditioning_to"), conditioningInput("conditioning_from"),
        InputSpec("conditioning_to_strength", .float(FloatOptions(default: 1, min: 0, max: 1, step: 0.01))),
    ])) { inv in
        let to = try inv.object("conditioning_to", as: Conditioning.self)
        let from = try inv.object("conditioning_from", as: Conditioning.self)
        let strength = Float(try inv.double("conditioning_to_strength"))
        guard let source = from.entries.first else { throw NodeError("conditioning_from is empty") }
        var entries: [Conditioning.Entry] = []
        for entry in to.entries {
            let target = entry.cond.contiguous(as: .float32)
            guard target.rank == 3, source.cond.rank == 3, source.cond.shape[2] == target.shape[2] else {
                throw NodeError("ConditioningAverage: conditionings of shapes \(target.shape) and \(source.cond.shape) do not match")
            }
            let from = fitted(source.cond, tokens: target.shape[1], batch: target.shape[0])
            var out = entry
            out.cond = blend(target, strength, from, 1 - strength)
            let pooledTo = entry.pooled ?? source.pooled
            if let pooledFrom = source.pooled, let pooledTo, pooledTo.shape == pooledFrom.shape {
                out.pooled = blend(pooledTo.contiguous(as: .float32), strength, pooledFrom.contiguous(as: .float32),
                                   1 - strength)
            } else if let pooledFrom = source.pooled {
                out.pooled = pooledFrom
            }
            entries.append(out)
        }
        return result(Conditioning(entries))
    }

    /// `from[:, :tokens]`, zero-padded to `tokens`, its batch broadcast to `batch` when it is 1.
    private static func fitted(_ from: Tensor, tokens: Int, batch: Int) -> Tensor {
        var t = from.contiguous(as: .float32)
        if t.shape[1] > tokens { t = t.narrowed(dim: 1, start: 0, length: tokens).contiguous() }
        if t.shape[1] < tokens {
            t = Tensor.concatenated([t, Tensor(zeros: [t.shape[0], tokens - t.shape[1], t.shape[2]])], dim: 1)
        }
        if t.shape[0] == 1, batch > 1 { t = t.expanded(to: [batch] + Array(t.shape.dropFirst())).contiguous() }
        return t
    }

    /// `a·wa + b·wb` elementwise, each product rounded before the sum (torch's `mul` then `+`).
    private static func blend(_ a: Tensor, _ wa: Float, _ b: Tensor, _ wb: Float) -> Tensor {
        let x = a.scalars, y = b.scalars
        return Tensor(shape: a.shape, scalars: zip(x, y).map { u, v in
            let left = u * wa, right = v * wb
            return left + right
        })
    }

    /// `ConditioningConcat`: each entry's tokens followed by those of the first entry of `conditioning_from`.
    static let concat = NodeDefinition(schema: schema("ConditioningConcat", "Conditioning (Concat)",
                                                      [conditioningInput("conditioning_to"), conditioningInput("conditioning_from")])) { inv in
        let to = try inv.object("conditioning_to", as: Conditioning.self)
        let from = try inv.object("conditioning_from", as: Conditioning.self)
        guard let source = from.entries.first else { throw NodeError("conditioning_from is empty") }
        let entries = try to.entries.map { entry -> Conditioning.Entry in
            guard entry.cond.rank == 3, source.cond.rank == 3, entry.cond.shape[2] == source.cond.shape[2],
                  entry.cond.shape[0] == source.cond.shape[0] else {
                throw NodeError("ConditioningConcat: conditionings of shapes \(entry.cond.shape) and \(source.cond.shape) do not match")
            }
            var out = entry
            out.cond = Tensor.concatenated([entry.cond.contiguous(as: .float32), source.cond.contiguous(as: .float32)], dim: 1)
            return out
        }
        return result(Conditioning(entries))
    }

    /// `ConditioningSetArea`: the entries apply to a pixel rectangle (stored in latent cells, `value // 8`).
    static let setArea = NodeDefinition(schema: schema("ConditioningSetArea", "Conditioning (Set Area)", [
        conditioningInput(),
        InputSpec("width", .int(IntOptions(default: 64, min: 64, max: .int(maxResolution), step: 8))),
        InputSpec("height", .int(IntOptions(default: 64, min: 64, max: .int(maxResolution), step: 8))),
        InputSpec("x", .int(IntOptions(default: 0, min: 0, max: .int(maxResolution), step: 8))),
        InputSpec("y", .int(IntOptions(default: 0, min: 0, max: .int(maxResolution), step: 8))),
        strengthInput(),
    ])) { inv in
        let c = try inv.object("conditioning", as: Conditioning.self)
        let (w, h, x, y) = (Int(try inv.int("width")), Int(try inv.int("height")), Int(try inv.int("x")), Int(try inv.int("y")))
        let strength = Float(try inv.double("strength"))
        return result(c.updatingEntries {
            $0.area = .latent(height: h / 8, width: w / 8, y: y / 8, x: x / 8)
            $0.strength = strength
            $0.setAreaToBounds = false
        })
    }

    /// `ConditioningSetAreaPercentage`: the rectangle as fractions of the image, resolved when sampling starts.
    static let setAreaPercentage = NodeDefinition(schema: schema("ConditioningSetAreaPercentage", "Conditioning (Set Area with Percentage)", [
        conditioningInput(),
        fractionInput("width", default: 1), fractionInput("height", default: 1),
        fractionInput("x", default: 0), fractionInput("y", default: 0),
        strengthInput(),
    ])) { inv in
        let c = try inv.object("conditioning", as: Conditioning.self)
        let area = ConditioningArea.percentage(height: try inv.double("height"), width: try inv.double("width"),
                                               y: try inv.double("y"), x: try inv.double("x"))
        let strength = Float(try inv.double("strength"))
        return result(c.updatingEntries {
            $0.area = area
            $0.strength = strength
            $0.setAreaToBounds = false
        })
    }

    /// `ConditioningSetAreaStrength`: the entries' weight.
    static let setAreaStrength = NodeDefinition(schema: schema("ConditioningSetAreaStrength", "ConditioningSetAreaStrength",
                                                               [conditioningInput(), strengthInput()])) { inv in
        let c = try inv.object("conditioning", as: Conditioning.self)
        let strength = Float(try inv.double("strength"))
        return result(c.updatingEntries { $0.strength = strength })
    }

    /// `ConditioningSetMask`: a per-position weight (resized to the latent when sampling starts); with
    /// `mask bounds` the entries run only on the mask's bounding box.
    static let setMask = NodeDefinition(schema: schema("ConditioningSetMask", "Conditioning (Set Mask)", [
        conditioningInput(),
        InputSpec("mask", .socket(SocketType.mask)),
        strengthInput(),
        InputSpec("set_cond_area", .combo(ComboOptions(["default", "mask bounds"]))),
    ])) { inv in
        let c = try inv.object("conditioning", as: Conditioning.self)
        let mask = try inv.mask("mask").contiguous(as: .float32)
        let strength = Float(try inv.double("strength"))
        let bounds = try inv.string("set_cond_area") != "default"
        return result(c.updatingEntries {
            $0.mask = mask
            $0.setAreaToBounds = bounds
            $0.maskStrength = strength
        })
    }

    /// `ConditioningZeroOut`: zeros of the same shapes (a neutral conditioning).
    static let zeroOut = NodeDefinition(schema: schema("ConditioningZeroOut", "ConditioningZeroOut",
                                                       category: "advanced/conditioning", [conditioningInput()])) { inv in
        let c = try inv.object("conditioning", as: Conditioning.self)
        return result(c.updatingEntries {
            $0.cond = Tensor(zeros: $0.cond.shape)
            if let pooled = $0.pooled { $0.pooled = Tensor(zeros: pooled.shape) }
        })
    }

    /// `ConditioningSetTimestepRange`: the entries are used only from `start` to `end` of the sampling.
    static let setTimestepRange = NodeDefinition(schema: schema("ConditioningSetTimestepRange", "ConditioningSetTimestepRange",
                                                                category: "advanced/conditioning", [
        conditioningInput(),
        fractionInput("start", default: 0, step: 0.001), fractionInput("end", default: 1, step: 0.001),
    ])) { inv in
        let c = try inv.object("conditioning", as: Conditioning.self)
        let (start, end) = (try inv.double("start"), try inv.double("end"))
        return result(c.updatingEntries {
            $0.startPercent = start
            $0.endPercent = end
        })
    }
}

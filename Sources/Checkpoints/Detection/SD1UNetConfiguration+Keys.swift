extension SD1UNetConfiguration {
    /// Every parameter key (after `prefix`) of this UNet with its shape, in the LDM layout that SD1.x
    /// single-file checkpoints use (`input_blocks`, `middle_block`, `output_blocks`, …).
    public func expectedKeys(prefix: String = "model.diffusion_model.") -> [String: [Int]] {
        var t = ParameterTable()
        let mc = modelChannels, temb = timeEmbedDim

        func resBlock(_ q: String, _ cin: Int, _ cout: Int) {
            t.norm(q + "in_layers.0", cin)
            t.conv2d(q + "in_layers.2", cin, cout, kernel: 3)
            t.linear(q + "emb_layers.1", temb, cout)
            t.norm(q + "out_layers.0", cout)
            t.conv2d(q + "out_layers.3", cout, cout, kernel: 3)
            if cin != cout { t.conv2d(q + "skip_connection", cin, cout, kernel: 1) }
        }
        func transformer(_ q: String, _ c: Int, _ depth: Int) {
            t.norm(q + "norm", c)
            if useLinearInTransformer { t.linear(q + "proj_in", c, c) } else { t.conv2d(q + "proj_in", c, c, kernel: 1) }
            for d in 0..<depth {
                let b = q + "transformer_blocks.\(d)."
                for (attention, kv) in [("attn1", c), ("attn2", contextDim)] {
                    t.linear(b + attention + ".to_q", c, c, bias: false)
                    t.linear(b + attention + ".to_k", kv, c, bias: false)
                    t.linear(b + attention + ".to_v", kv, c, bias: false)
                    t.linear(b + attention + ".to_out.0", c, c)
                }
                t.linear(b + "ff.net.0.proj", c, c * 8)  // GEGLU: value and gate, 4c each
                t.linear(b + "ff.net.2", c * 4, c)
                for n in ["norm1", "norm2", "norm3"] { t.norm(b + n, c) }
            }
            if useLinearInTransformer { t.linear(q + "proj_out", c, c) } else { t.conv2d(q + "proj_out", c, c, kernel: 1) }
        }

        let p = prefix
        t.linear(p + "time_embed.0", mc, temb)
        t.linear(p + "time_embed.2", temb, temb)
        if let admInChannels {
            t.linear(p + "label_emb.0.0", admInChannels, temb)
            t.linear(p + "label_emb.0.2", temb, temb)
        }
        t.conv2d(p + "input_blocks.0.0", inChannels, mc, kernel: 3)
        var skips = [mc], ch = mc, index = 1, resIndex = 0
        for (level, mult) in channelMult.enumerated() {
            for _ in 0..<numResBlocks[level] {
                let q = p + "input_blocks.\(index)."
                resBlock(q + "0.", ch, mult * mc)
                ch = mult * mc
                let depth = resIndex < transformerDepth.count ? transformerDepth[resIndex] : 0
                if depth > 0 { transformer(q + "1.", ch, depth) }
                skips.append(ch)
                index += 1
                resIndex += 1
            }
            if level != channelMult.count - 1 {
                t.conv2d(p + "input_blocks.\(index).0.op", ch, ch, kernel: 3)
                skips.append(ch)
                index += 1
            }
        }
        if transformerDepthMiddle >= -1 {
            resBlock(p + "middle_block.0.", ch, ch)
            if transformerDepthMiddle >= 0 {
                transformer(p + "middle_block.1.", ch, transformerDepthMiddle)
                resBlock(p + "middle_block.2.", ch, ch)
            }
        }
        var outIndex = 0
        for level in channelMult.indices.reversed() {
            let mult = channelMult[level]
            for i in 0...numResBlocks[level] {
                let q = p + "output_blocks.\(outIndex)."
                resBlock(q + "0.", ch + (skips.popLast() ?? 0), mult * mc)
                ch = mult * mc
                let mirrored = transformerDepthOutput.count - 1 - outIndex
                let depth = transformerDepthOutput.indices.contains(mirrored) ? transformerDepthOutput[mirrored] : 0
                var sub = 1
                if depth > 0 {
                    transformer(q + "1.", ch, depth)
                    sub = 2
                }
                if level > 0 && i == numResBlocks[level] { t.conv2d(q + "\(sub).conv", ch, ch, kernel: 3) }
                outIndex += 1
            }
        }
        t.norm(p + "out.0", ch)
        t.conv2d(p + "out.2", mc, outChannels, kernel: 3)
        return t.shapes
    }
}

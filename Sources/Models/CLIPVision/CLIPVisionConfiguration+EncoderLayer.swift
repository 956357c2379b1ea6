import Checkpoints

extension CLIPVisionConfiguration {
    /// The shape of one encoder layer, which the vision tower shares with the text tower
    /// (``CLIPEncoderLayer`` reads only widths, heads, activation and epsilon from it).
    var encoderLayerShape: CLIPTextConfiguration {
        CLIPTextConfiguration(hiddenSize: hiddenSize, intermediateSize: intermediateSize, numLayers: numLayers,
                              numHeads: numHeads, hiddenActivation: hiddenActivation, layerNormEpsilon: layerNormEpsilon)
    }
}

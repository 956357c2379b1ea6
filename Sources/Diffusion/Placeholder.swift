enum _PlaceholderDiffusion {}

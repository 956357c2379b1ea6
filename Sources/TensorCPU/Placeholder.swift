enum _PlaceholderTensorCPU {}

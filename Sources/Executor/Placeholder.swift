enum _PlaceholderExecutor {}

enum _PlaceholderTensorNN {}

enum _PlaceholderTokenizers {}

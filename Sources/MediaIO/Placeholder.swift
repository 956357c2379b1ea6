enum _PlaceholderMediaIO {}

enum _PlaceholderCheckpoints {}

enum _PlaceholderNodeLibrary {}

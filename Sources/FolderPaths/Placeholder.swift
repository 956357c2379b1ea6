enum _PlaceholderFolderPaths {}

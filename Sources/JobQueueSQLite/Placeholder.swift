import GRDB
enum _PlaceholderSQLite {}

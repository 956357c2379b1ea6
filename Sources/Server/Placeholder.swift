import Hummingbird
import HummingbirdWebSocket
enum _PlaceholderServer {}

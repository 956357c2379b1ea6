import ArgumentParser
import HummingbirdWSClient
@main struct Loom: ParsableCommand { func run() {} }

import Testing

/// End-to-end tests: each starts the real `loom` executable on a loopback port with a scratch data
/// directory and talks to it over real HTTP. They run one at a time, so that timings (a job still
/// running when it is killed) do not depend on what other tests do on the same cores.
@Suite(.serialized) struct EndToEndTests {}

import LoomTestSupport
import Foundation
import Testing
@testable import Checkpoints

/// Timings for the closing note; runs only with `LOOM_CHECKPOINT_TIMING=1` (it reads ~550 MB).
@Suite struct CheckpointTimingTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["LOOM_CHECKPOINT_TIMING"] == "1"))
    func openValidateAndConvertReduced() throws {
        let path = try ModelFixtures.reduced()
        let clock = ContinuousClock()
        var file: SafetensorsFile?
        let open = try clock.measure { file = try SafetensorsFile(path: path) }
        let checkpoint = try #require(file)
        var detected: DetectedModel?
        let detect = try clock.measure { detected = try ModelDetection.detect(checkpoint) }
        #expect(detected != nil)
        var elements = 0
        var checksum: Float = 0
        let convert = try clock.measure {
            for info in checkpoint.tensors where info.dtype.convertsToFloat {
                let values = try checkpoint.floats(info.name)
                elements += values.count
                checksum += values.first ?? 0
            }
        }
        print("TIMING reduced: open+validate \(open), detect \(detect), convert \(elements) elements of \(checkpoint.tensors.count) tensors to f32 \(convert) (checksum \(checksum))")
    }
}

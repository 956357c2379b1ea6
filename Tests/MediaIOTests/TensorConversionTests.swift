import Testing
import TensorCore
@testable import MediaIO

@Suite struct TensorConversionTests {
    @Test func quantizeMatchesNumpyClipAstype() {
        #expect(Tensor.quantize(0) == 0)
        #expect(Tensor.quantize(1) == 255)
        #expect(Tensor.quantize(1.7) == 255)
        #expect(Tensor.quantize(-0.3) == 0)
        #expect(Tensor.quantize(0.5) == 127)          // 127.5 truncates
        #expect(Tensor.quantize(Float(128) / 255) == 128)
        #expect(Tensor.quantize(.nan) == 0)
        for v in 0...255 { #expect(Tensor.quantize(Float(v) / 255) == UInt8(v)) }
    }

    @Test func imageFromFramesDropsAlphaAndOddSizes() {
        let a = DecodedImage(width: 2, height: 1, channels: 4, samples: .uint8([255, 0, 51, 9, 0, 255, 0, 9]), alpha: .channel)
        let odd = DecodedImage(width: 1, height: 1, channels: 4, samples: .uint8([1, 2, 3, 4]), alpha: .channel)
        let t = Tensor.image(frames: [a, odd, a])
        #expect(t.shape == [2, 1, 2, 3])
        #expect(Array(t.scalars.prefix(6)) == [1, 0, Float(51) / 255, 0, 1, 0])
        #expect(t.imagePixels(batch: 1) == [255, 0, 51, 0, 255, 0])
        let sixteen = DecodedImage(width: 1, height: 1, channels: 4, samples: .uint16([65535, 0, 32768, 65535]), alpha: .none)
        #expect(Tensor.image(frames: [sixteen]).scalars == [1, 0, Float(32768) / 65535])
    }
}

@Suite struct ResamplerTests {
    /// A [1, 1, W, 1] image from a row of values.
    static func row(_ v: [Float]) -> Tensor { Tensor(shape: [1, 1, v.count, 1], scalars: v) }

    @Test func bilinearMatchesTorchAlignCornersFalse() {
        let up = ImageResampler.resize(Self.row([0, 1]), width: 4, height: 1, method: .bilinear)
        #expect(up.scalars == [0, 0.25, 0.75, 1])
        let down = ImageResampler.resize(Self.row([0, 1, 2, 3]), width: 2, height: 1, method: .bilinear)
        #expect(down.scalars == [0.5, 2.5])
    }

    @Test func nearestExact() {
        let down = ImageResampler.resize(Self.row([0, 1, 2, 3]), width: 2, height: 1, method: .nearestExact)
        #expect(down.scalars == [1, 3])
        let up = ImageResampler.resize(Self.row([5, 7]), width: 5, height: 1, method: .nearestExact)
        #expect(up.scalars == [5, 5, 7, 7, 7]) // floor((i + .5) * .4) = 0,0,1,1,1
    }

    @Test func areaIsAdaptiveAveragePooling() {
        let t = ImageResampler.resize(Self.row([1, 2, 3]), width: 2, height: 1, method: .area)
        #expect(t.scalars == [1.5, 2.5]) // windows [0,2) and [1,3)
        let two = Tensor(shape: [1, 2, 2, 1], scalars: [1, 2, 3, 4])
        #expect(ImageResampler.resize(two, width: 1, height: 1, method: .area).scalars == [2.5])
    }

    @Test func bicubicKeysKernel() {
        let up = ImageResampler.resize(Self.row([0, 1]), width: 4, height: 1, method: .bicubic)
        #expect(up.scalars[0] == -0.10546875)                 // overshoot of a = -0.75
        #expect(abs(up.scalars[0] + up.scalars[3] - 1) < 1e-6)
        #expect(abs(up.scalars[1] + up.scalars[2] - 1) < 1e-6)
    }

    @Test(arguments: ImageResampler.Method.allCases)
    func constantImagesStayConstantAndSizesAreRight(method: ImageResampler.Method) {
        let img = Tensor(repeating: 0.4, shape: [2, 5, 7, 3])
        let out = ImageResampler.resize(img, width: 11, height: 3, method: method)
        #expect(out.shape == [2, 3, 11, 3])
        let expected: Float = method == .lanczos ? Float(Tensor.quantize(0.4)) / 255 : 0.4
        #expect(out.scalars.allSatisfy { abs($0 - expected) < 1e-5 })
    }

    @Test func centerCropTrimsTheLongSide() {
        // 4x2 -> 2x2: crops columns 1..<3 first.
        let img = Tensor(shape: [1, 2, 4, 1], scalars: [0, 1, 2, 3, 4, 5, 6, 7])
        let out = ImageResampler.resize(img, width: 2, height: 2, method: .nearestExact, crop: .center)
        #expect(out.scalars == [1, 2, 5, 6])
    }

    @Test func channelsFirstLayout() {
        let planes = Tensor(shape: [1, 2, 1, 2], scalars: [0, 1, 10, 11])
        let out = ImageResampler.resize(planes, width: 4, height: 1, method: .bilinear, layout: .channelsFirst)
        #expect(out.shape == [1, 2, 1, 4])
        #expect(out.scalars == [0, 0.25, 0.75, 1, 10, 10.25, 10.75, 11])
    }
}

import Foundation
import MicroturnVision
import Testing
import TestSupport

@Suite(.ownThreads) struct CameraFrameTests {
    @Test func colourTurnsToGreyByBT601Luma() {
        // Pure white, red, green, blue, black, and a mid grey.
        let rgb: [UInt8] = [255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 128, 128, 128]
        let frame = CameraFrame(width: 3, height: 2, channels: 3, pixels: rgb, timestamp: 1.5, index: 7)
        let grey = frame.grey
        // 0.299, 0.587, 0.114 of full scale; grey stays grey; time and number carried over.
        #expect(grey.pixels == [255, 76, 150, 29, 0, 128])
        #expect(grey.timestamp == 1.5 && grey.index == 7 && grey.width == 3 && grey.height == 2)
        let plain = CameraFrame(width: 2, height: 1, channels: 1, pixels: [9, 200], timestamp: 0, index: 0)
        #expect(plain.grey.pixels == [9, 200])
    }

    @Test func netpbmHasTheHeaderViewersExpect() {
        let colour = CameraFrame(width: 2, height: 1, channels: 3, pixels: [1, 2, 3, 4, 5, 6], timestamp: 0, index: 0)
        #expect(colour.netpbm == Data("P6\n2 1\n255\n".utf8) + Data([1, 2, 3, 4, 5, 6]))
        let grey = CameraFrame(width: 1, height: 2, channels: 1, pixels: [7, 8], timestamp: 0, index: 0)
        #expect(grey.netpbm == Data("P5\n1 2\n255\n".utf8) + Data([7, 8]))
    }
}

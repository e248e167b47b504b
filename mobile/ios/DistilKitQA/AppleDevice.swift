import Foundation

/// The benchmark's probes that exist only on Apple platforms (Mach task info), kept apart so the
/// rest of the benchmark type-checks on Linux against the CoreML and ExecuTorch stubs.
enum AppleDevice {
    static func benchmarkEnvironment(keepAwake: @escaping (Bool) async -> Void) -> BenchmarkEnvironment {
        BenchmarkEnvironment(residentMb: footprintMb, keepAwake: keepAwake, performanceCores: performanceCores)
    }

    /// Physical cores of the fastest performance level (hw.perflevel0.physicalcpu, iOS 15+).
    static func performanceCores() -> Int? {
        var n: Int32 = 0
        var size = MemoryLayout<Int32>.size
        return sysctlbyname("hw.perflevel0.physicalcpu", &n, &size, nil, 0) == 0 && n > 0 ? Int(n) : nil
    }

    /// The app's current physical footprint (what iOS counts against its memory limit).
    static func footprintMb() -> Double? {
        var info = task_vm_info_data_t()
        var count = mach_msg_type_number_t(MemoryLayout<task_vm_info_data_t>.size / MemoryLayout<natural_t>.size)
        let kr = withUnsafeMutablePointer(to: &info) {
            $0.withMemoryRebound(to: integer_t.self, capacity: Int(count)) {
                task_info(mach_task_self_, task_flavor_t(TASK_VM_INFO), $0, &count)
            }
        }
        return kr == KERN_SUCCESS ? Double(info.phys_footprint) / 1_048_576 : nil
    }
}

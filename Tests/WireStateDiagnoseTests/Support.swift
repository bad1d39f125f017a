import Foundation
import WireStateDiagnose
import WireStatePipeline
import WireStateTracker

/// Runs committed captures through the same pipeline as `wirestate diagnose`, in process.
enum Diagnosis {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The findings for `paths` (relative to the package root), with `options`.
    static func findings(
        _ paths: [String], options: DiagnoseOptions = DiagnoseOptions(),
        configuration: ConnectionTracker.Configuration = .init(), filter: String? = nil
    ) -> [Finding] {
        var collector = DiagnosisCollector(options: options)
        collector.sourceNames = paths
        var pipeline = Pipeline(configuration: configuration, sink: collector)
        for p in paths { pipeline.runFile(repo.appendingPathComponent(p).path, filter: filter) }
        pipeline.finish()
        return pipeline.sink.findings()
    }

    static func findings(_ path: String, options: DiagnoseOptions = DiagnoseOptions()) -> [Finding] {
        findings([path], options: options)
    }
}

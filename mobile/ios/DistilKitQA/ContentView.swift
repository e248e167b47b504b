import QACore
import SwiftUI

/// Passage + question, backend and model pickers, the answer highlighted in the passage.
struct ContentView: View {
    @State private var passage = ""
    @State private var question = ""
    @State private var backend = Backend.coreML
    @State private var specs: [ModelSpec] = []
    @State private var modelIndex = 0
    @State private var status = ""
    @State private var answer: QAEngine.Answer?
    @State private var busy = false

    /// One picker entry per model and precision; the window length is chosen per question.
    private var usable: [WindowChoice.Group] { WindowChoice.group(backend.usable(specs)) }

    var body: some View {
        NavigationStack {
            Form {
                Section("Passage") { TextEditor(text: $passage).frame(minHeight: 160) }
                Section("Question") { TextField("Question", text: $question) }
                Section("Model") {
                    Picker("Backend", selection: $backend) {
                        ForEach(Backend.allCases) { Text($0.rawValue).tag($0) }
                    }
                    Picker("Model", selection: $modelIndex) {
                        ForEach(usable.indices, id: \.self) { Text(usable[$0].label).tag($0) }
                    }
                    Button(busy ? "Answering…" : "Answer", action: ask).disabled(busy || usable.isEmpty)
                }
                Section("Answer") {
                    if let a = answer, a.found {
                        Text(a.text).font(.title3.bold())
                        Text(String(format: "score %.2f · %.1f ms · %d window(s)", a.score, a.latencyMs, a.windows))
                            .font(.caption)
                        Text(highlighted(passage, a))
                    }
                    if !status.isEmpty { Text(status).foregroundStyle(.secondary) }
                }
            }
            .navigationTitle("DistilKit QA")
        }
        .onAppear(perform: loadModels)
        .onChange(of: backend) { modelIndex = 0 }
    }

    private func loadModels() {
        var problems: [String] = []
        specs = ModelStore.load(problems: &problems)
        if specs.isEmpty { problems.append("No models in the app. Run: python pipeline/build_all.py --stages apps") }
        status = problems.joined(separator: "\n")
    }

    private func ask() {
        guard usable.indices.contains(modelIndex) else { return }
        let group = usable[modelIndex], backend = backend, q = question, p = passage
        busy = true
        Task.detached {
            var result: QAEngine.Answer?
            var message = ""
            do {
                let tok = try group.lengths[0].loadTokenizer()
                let spec = try group.choose(tok, question: q, context: p)
                try await backend.prepare(spec)
                let model = try backend.open(spec)
                result = try QAEngine(spec: spec, tokenizer: tok).answer(model: model, question: q, context: p)
                message = result.map { $0.found ? "\($0.windows) window(s) of \(spec.seqLen) tokens" : $0.message } ?? ""
            } catch {
                message = "\(error)"  // missing or mismatched model file: the message names it
            }
            // Constants, not the vars above: Swift 6 refuses a captured var in concurrently running code.
            let shown = result, said = message
            await MainActor.run {
                answer = shown
                status = said
                busy = false
            }
        }
    }

    /// Offsets are Unicode scalars (as in Python); AttributedString indexes the same scalars.
    private func highlighted(_ text: String, _ a: QAEngine.Answer) -> AttributedString {
        var s = AttributedString(text)
        let scalars = s.unicodeScalars
        let from = scalars.index(scalars.startIndex, offsetBy: a.startChar)
        let to = scalars.index(from, offsetBy: a.endChar - a.startChar)
        s[from..<to].backgroundColor = .yellow
        s[from..<to].font = .body.bold()
        return s
    }
}

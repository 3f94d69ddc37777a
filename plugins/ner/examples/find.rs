//! The entities in a text: `cargo run --release -p ner --example find -- "TEXT"`.
fn main() {
    let text = std::env::args().nth(1).unwrap_or_default();
    let model = ner::Model::load(ner::MODEL).expect("the built-in model loads");
    for e in model.entities(&text) {
        println!(
            "{:>5}..{:<5} {:<8} {:.3} {:?}",
            e.start,
            e.end,
            e.label,
            e.confidence,
            &text[e.start..e.end]
        );
    }
}

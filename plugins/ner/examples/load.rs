//! What configuring the plugin costs natively, with and without the rules beside the model:
//! `cargo run --release -p ner --example load`.
use std::time::Instant;

fn main() {
    for config in [r#"{"context": false, "addresses": false}"#, "{}"] {
        let started = Instant::now();
        let runs = 20;
        for _ in 0..runs {
            let model = ner::Model::load(ner::MODEL).expect("the built-in model loads");
            ner::Ner::new(model, config).expect("the config is valid");
        }
        println!(
            "{config}: {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3 / runs as f64
        );
    }
}

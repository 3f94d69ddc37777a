//! Load time and ms per KB natively: `cargo run --release -p ner-model --example speed -- MODEL GOLDEN`.
use std::io::BufRead;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&args[1]).unwrap();
    let t = Instant::now();
    let model = ner::Model::load(&bytes).unwrap();
    println!("load: {:?}", t.elapsed());
    let texts: Vec<String> = std::io::BufReader::new(std::fs::File::open(&args[2]).unwrap())
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(&l.unwrap()).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    for _ in 0..2 {
        let t = Instant::now();
        let mut tokens = 0;
        for text in &texts {
            tokens += model.tokenize(text).len();
        }
        let tok = t.elapsed();
        let t = Instant::now();
        let mut ents = 0;
        for text in &texts {
            ents += model.entities(text).len();
        }
        let all = t.elapsed();
        println!(
            "{} KB, {tokens} tokens, {ents} entities: tokenize {:.3} ms/KB, all {:.3} ms/KB",
            bytes / 1024,
            tok.as_secs_f64() * 1e3 / (bytes as f64 / 1024.0),
            all.as_secs_f64() * 1e3 / (bytes as f64 / 1024.0)
        );
    }
}

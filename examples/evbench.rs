//! Raw saphyr-parser event throughput against meshlint's tree building (the general
//! parser alone, and `parse_stream`, which tries the block-subset parser first), over the
//! files named on the command line: `cargo run --release --example evbench -- FILES...`.
#![allow(clippy::print_stdout, clippy::cast_precision_loss)] // a measuring tool that prints
use saphyr_parser::Parser;
fn main() {
    let texts: Vec<String> = std::env::args().skip(1).filter_map(|p| std::fs::read_to_string(p).ok()).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let t = std::time::Instant::now();
    let mut events = 0usize;
    for s in &texts {
        for ev in Parser::new_from_str(s) {
            if ev.is_err() {
                break;
            }
            events += 1;
        }
    }
    let raw = t.elapsed();
    let t = std::time::Instant::now();
    for s in &texts {
        std::hint::black_box(meshlint::yaml::parse_general(s));
    }
    let general = t.elapsed();
    let t = std::time::Instant::now();
    for s in &texts {
        std::hint::black_box(meshlint::yaml::parse_stream(s));
    }
    let tree = t.elapsed();
    let mb = bytes as f64 / 1e6;
    println!("{} files, {mb:.1} MB, {events} events", texts.len());
    println!("saphyr events only: {raw:?} ({:.1} MB/s, one thread)", mb / raw.as_secs_f64());
    println!("meshlint parse_general: {general:?} ({:.1} MB/s, one thread)", mb / general.as_secs_f64());
    println!("meshlint parse_stream: {tree:?} ({:.1} MB/s, one thread)", mb / tree.as_secs_f64());
}

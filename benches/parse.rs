//! `cargo bench --bench parse`: one core parsing the lines of a busy log (the kinds and
//! shapes `report_throughput` writes) into events, in MB/s: a steadier figure than whole runs
//! of `report` on a shared machine. For scale, serde_json reading the same lines into a
//! `Value` (which allocates, so it is slower than serde_json into wscope's struct).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn lines() -> Vec<String> {
    let ts = "2026-11-30T01:00:30.020Z";
    let mut out = Vec::new();
    for i in 0..10_000u32 {
        out.push(match i % 100 {
            0..=1 => format!(r#"{{"type":"open","ts":"{ts}","conn":"c{i}","remote":"203.0.{}.{}:{}","user_agent":"Mozilla/5.0 (X11; Linux x86_64)","path":"/ws"}}"#, i % 200, i % 250, 1024 + i),
            2..=3 => format!(r#"{{"type":"close","ts":"{ts}","conn":"c{i}","code":1006,"reason":"","initiator":"none"}}"#),
            4..=8 => format!(r#"{{"type":"ping","ts":"{ts}","conn":"c{i}"}}"#),
            9..=13 => format!(r#"{{"type":"pong","ts":"{ts}","conn":"c{i}","rtt_ms":{}.5}}"#, i % 90),
            _ => format!(r#"{{"type":"message","ts":"{ts}","conn":"c{i}","dir":"in","count":{},"bytes":{}}}"#, i % 9, i % 4000),
        });
    }
    out
}

fn parse(c: &mut Criterion) {
    let lines = lines();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("parse_event_str", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(wscope::event::parse_event_str(black_box(line)).ok());
            }
        })
    });
    group.bench_function("serde_json_value", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(serde_json::from_str::<serde_json::Value>(black_box(line)).ok());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);

//! Cost of a number -> province lookup (the embedded phone.dat), next to a request.
//!
//! Run: `cargo run --release --example numbers_bench`

use std::time::Instant;

use callplane::numbers::PhoneData;

fn main() {
    let data = PhoneData::embedded();
    let n = 2_000_000u64;
    let mut seed = 0x2545F4914F6CDD1Du64;
    let numbers: Vec<String> = (0..10_000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            format!("1{:010}", 3_000_000_000 + seed % 9_000_000_000)
        })
        .collect();
    let warm = Instant::now();
    let _ = data.lookup("057188880000");
    println!(
        "first landline lookup (builds the area-code map): {:.2} ms",
        warm.elapsed().as_secs_f64() * 1e3
    );
    let started = Instant::now();
    let mut found = 0u64;
    for i in 0..n {
        found += u64::from(data.lookup(&numbers[(i % 10_000) as usize]).is_some());
    }
    let per = started.elapsed().as_nanos() as f64 / n as f64;
    println!(
        "mobile lookups: {n} in {:.3} s = {per:.0} ns each ({found} found)",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    for _ in 0..n {
        std::hint::black_box(data.lookup(std::hint::black_box("057188880000")));
    }
    let per = started.elapsed().as_nanos() as f64 / n as f64;
    println!("landline lookups: {per:.0} ns each");
}

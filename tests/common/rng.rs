//! The deterministic generator the property tests share (included with `#[path]` by the unit
//! tests in `src/` and by each test binary): xorshift64*, fixed seeds, so a failure repeats.
#![allow(dead_code)] // each includer uses part of it

/// xorshift64*: deterministic, good enough to shake a parser.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

//! Throughput of the pickle simulation on an opcode-dense pickle: a list of
//! `N` small integers written as CPython writes it (protocol 4, `APPENDS` batches of
//! 1000, `BININT`). Prints MB/s; peak memory is reported by the caller
//! (`/usr/bin/time -v`). Usage: `pickle-bench [N]` (default 20,000,000).

use std::time::Instant;

fn main() {
    use std::io::Write as _;
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000_000);
    let mut p = Vec::with_capacity(n * 5 + 64);
    p.extend_from_slice(&[0x80, 4, b']', 0x94]);
    let mut i = 0usize;
    while i < n {
        p.push(b'(');
        for _ in 0..1000.min(n - i) {
            p.push(b'J');
            p.extend_from_slice(&(i as i32).to_le_bytes());
            i += 1;
        }
        p.push(b'e');
    }
    p.push(b'.');
    let t = Instant::now();
    let r = moat_scan::scan_pickle(&p);
    let secs = t.elapsed().as_secs_f64();
    let _ = writeln!(
        std::io::stdout(),
        "| pickle simulation, {} ints ({:.0} MB) | {:.0} MB/s ({} opcodes, {} findings) |",
        n,
        p.len() as f64 / 1e6,
        p.len() as f64 / 1e6 / secs,
        r.opcodes,
        r.findings.len()
    );
}

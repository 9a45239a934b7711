//! What this process has used, from `/proc` (Linux), shared by the benches.

use std::time::Duration;

/// user + sys CPU time of this whole process (all threads, ended ones too; children
/// excluded), from /proc/self/stat fields 14 and 15, in clock ticks of 10 ms (USER_HZ = 100 on
/// Linux).
pub fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((field(11) + field(12)) * 10)
}

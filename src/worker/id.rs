//! A worker's id: given with `--id` and checked (it names the worker's corpus folder), or made
//! from the machine's name and the process id. Touches nothing but `/proc/sys/kernel/hostname`.

use super::WorkerError;

/// Longest worker id: it names a folder and appears in every status line.
const MAX_ID_LEN: usize = 64;

/// `id` as given, checked, or `<machine>-<pid>`.
///
/// # Errors
/// `BadId` when it cannot name a folder.
pub fn worker_id(id: Option<String>) -> Result<String, WorkerError> {
    let id = id.unwrap_or_else(|| {
        let machine = machine_name()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .take(40)
            .collect::<String>();
        format!("{machine}-{}", std::process::id())
    });
    let usable = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if usable {
        Ok(id)
    } else {
        Err(WorkerError::BadId { id })
    }
}

/// The machine's name, for `status` (empty when it cannot be read).
pub fn machine_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

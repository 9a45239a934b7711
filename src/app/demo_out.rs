//! What `newsmill demo` prints after its run: where the folder, corpus and config are, and the
//! next commands to try on the demo corpus, each with `-c` filled in and ready to paste, and
//! where the demo's report page was written.

use std::path::Path;

use crate::cli::LogFormat;
use crate::demo::Finished;

/// Commands that read the demo folder through its config, with their extra arguments. Add a
/// new read-only command here when it lands.
const NEXT: &[(&str, &str)] = &[
    ("stats", ""),
    ("status", ""),
    ("export", " --since 1970-01-01"),
    ("report", " --format json"),
];

/// Name of the report page the demo writes into its folder.
pub const REPORT_FILE: &str = "report.html";

/// The lines to print after a demo run (text logs), ending with a newline. `report` is the
/// report page written, if it could be.
pub fn trailer(program: &str, done: &Finished, report: Option<&Path>) -> String {
    let config = shell_word(&done.config);
    let mut s = format!(
        "\ndemo folder: {}\ncorpus:      {}\nconfig:      {config}\n",
        done.dir.display(),
        done.dir.join("normalized").display(),
    );
    if let Some(page) = report {
        s.push_str(&format!("report:      {}\n", page.display()));
    }
    s.push_str("\nnext, try:\n");
    for (command, extra) in next_commands(program, &config) {
        s.push_str(&format!("  {command}{extra}\n"));
    }
    s.push_str(&format!(
        "  head -c 1500 {}\n",
        shell_word(&done.dir.join("normalized/part-000001.jsonl"))
    ));
    s
}

fn next_commands(program: &str, config: &str) -> Vec<(String, &'static str)> {
    NEXT.iter()
        .map(|(cmd, extra)| (format!("{program} {cmd} -c {config}"), *extra))
        .collect()
}

/// Prints the trailer (text logs) or logs it as one `demo finished` event (JSON logs).
pub fn print(format: LogFormat, done: &Finished, report: Option<&Path>) {
    let program = program_name();
    match format {
        LogFormat::Text => eprint!("{}", trailer(&program, done, report)),
        LogFormat::Json => {
            let config = shell_word(&done.config);
            let next = next_commands(&program, &config)
                .into_iter()
                .map(|(c, e)| format!("{c}{e}"))
                .collect::<Vec<_>>()
                .join("; ");
            let report = report.map(|p| p.display().to_string()).unwrap_or_default();
            tracing::info!(folder = %done.dir.display(), config = %done.config.display(), report = %report, next = %next, "demo finished");
        }
    }
}

/// How this binary was invoked (`newsmill`, `./target/release/newsmill`), so the suggested
/// commands run as printed.
fn program_name() -> String {
    std::env::args_os()
        .next()
        .map_or_else(|| "newsmill".into(), |p| shell_word(Path::new(&p)))
}

/// A path as one shell word: as is when it holds only safe characters, else single-quoted.
fn shell_word(path: &Path) -> String {
    let s = path.display().to_string();
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+:=@%,".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_single_shell_words() {
        assert_eq!(shell_word(Path::new("/tmp/a-b/c.toml")), "/tmp/a-b/c.toml");
        assert_eq!(shell_word(Path::new("/tmp/my demo")), "'/tmp/my demo'");
        assert_eq!(shell_word(Path::new("/tmp/it's")), r"'/tmp/it'\''s'");
    }
}

//! The README's command table states each command's exit codes; this drives the binary into
//! each documented code and checks the table and the binary agree both ways: every code seen
//! is documented for that command, and every documented code is produced by some scenario
//! (the few that cannot be staged here are listed with the reason).
// See: issue 11, item 9.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::util::{code_err, demo_env, fixture, newsmill_async};

/// Command name → exit codes, read from the README's command table.
fn documented() -> BTreeMap<String, BTreeSet<i32>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let mut table = BTreeMap::new();
    for line in readme.lines().filter(|l| l.starts_with("| `newsmill ")) {
        // Split on cell bars, not on `\|` inside a cell.
        let cells: Vec<String> = line
            .replace("\\|", "\u{0}")
            .split('|')
            .map(|c| c.replace('\u{0}', "|").trim().to_owned())
            .collect();
        let command = cells[1]
            .trim_matches('`')
            .split_whitespace()
            .nth(1)
            .expect("command name")
            .to_owned();
        let codes_cell = &cells[3];
        let codes: BTreeSet<i32> = if codes_cell.starts_with("as `") {
            let other = codes_cell.trim_start_matches("as `").trim_end_matches('`');
            table
                .get(other)
                .cloned()
                .expect("referenced command documented first")
        } else {
            codes_cell
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse().ok())
                .collect()
        };
        table.insert(command, codes);
    }
    table
}

/// Codes the table documents that no scenario here can produce, with the reason.
const NOT_STAGED: &[(&str, i32, &str)] = &[
    (
        "demo",
        1,
        "the bundled demo site has no page that fails; the code comes from the same run report as `run`'s 1",
    ),
    (
        "worker",
        0,
        "needs a PostgreSQL server: staged in workers::issue12_worker_exit_codes_with_a_server",
    ),
    (
        "worker",
        1,
        "needs a PostgreSQL server: staged in workers::issue12_worker_exit_codes_with_a_server",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_exit_code_table_matches_the_binary() {
    let env = demo_env().await;
    let dir = env.dir.path();
    let cfg = env.cfg().to_owned();
    let article = format!(
        "{}/economics/view/belarus-boosts-dairy-exports-by-9-4-in-january-april-170544-2025/",
        env.sites.belta
    );
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/gone", l.local_addr().unwrap())
    };
    let empty = dir.join("empty.toml");
    let e = dir.join("empty");
    std::fs::write(
        &empty,
        format!(
            "[storage]\nraw_dir = \"{d}/raw\"\nnormalized_dir = \"{d}/n\"\nstate_dir = \"{d}/s\"\n[fetch]\nallow_private_networks = true\nmax_retries = 0\n",
            d = e.display()
        ),
    )
    .unwrap();
    let empty = empty.to_str().unwrap().to_owned();
    // `verify 1`: a corpus whose manifest is not JSON.
    let b = dir.join("broken");
    std::fs::create_dir_all(b.join("n")).unwrap();
    std::fs::write(b.join("n/manifest.json"), "not json").unwrap();
    let broken = dir.join("broken.toml");
    std::fs::write(
        &broken,
        format!(
            "[storage]\nraw_dir = \"{d}/raw\"\nnormalized_dir = \"{d}/n\"\nstate_dir = \"{d}/s\"\n",
            d = b.display()
        ),
    )
    .unwrap();
    let broken = broken.to_str().unwrap().to_owned();
    let a_file = dir.join("a-file");
    std::fs::write(&a_file, "x").unwrap();
    let page =
        fixture("sb/en/together-we-are-a-formidable-force-and-we-will-never-be-defeated-.html");
    let page = page.to_str().unwrap().to_owned();
    let demo_out = dir.join("demo-out");
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<String>>();
    // (command, arguments, expected code, hold the run lock of the empty config meanwhile)
    let scenarios: Vec<(&str, Vec<String>, i32, bool)> = vec![
        ("run", s(&["run", "-c", &empty]), 0, false),
        (
            "run",
            s(&["run", "-c", &cfg, "--since", "1990-01-01"]),
            0,
            false,
        ),
        ("fetch", s(&["fetch", "-c", &empty, &closed]), 1, false),
        ("run", s(&["run", "-c", "missing.toml"]), 2, false),
        ("run", s(&["run", "-c", &empty]), 75, true),
        ("fetch", s(&["fetch", "-c", &cfg, &article]), 0, false),
        (
            "run",
            s(&["run", "-c", &empty, "--source", "nope"]),
            2,
            false,
        ),
        (
            "fetch",
            s(&["fetch", "-c", "missing.toml", &closed]),
            2,
            false,
        ),
        ("fetch", s(&["fetch", "-c", &empty, &closed]), 75, true),
        (
            "extract",
            s(&["extract", "-c", "missing.toml", &page]),
            0,
            false,
        ),
        ("extract", s(&["extract", "missing.html"]), 1, false),
        (
            "extract",
            s(&["extract", "--url", "not a url", &page]),
            2,
            false,
        ),
        ("reprocess", s(&["reprocess", "-c", &empty]), 0, false),
        (
            "reprocess",
            s(&["reprocess", "-c", "missing.toml"]),
            2,
            false,
        ),
        ("reprocess", s(&["reprocess", "-c", &empty]), 75, true),
        (
            "demo",
            s(&["demo", "--out", demo_out.to_str().unwrap()]),
            0,
            false,
        ),
        (
            "demo",
            s(&["demo", "--out", a_file.to_str().unwrap()]),
            2,
            false,
        ),
        ("check", s(&["check", "-c", &cfg]), 0, false),
        ("check", s(&["check", "-c", "missing.toml"]), 2, false),
        ("status", s(&["status", "-c", &cfg]), 0, false),
        ("status", s(&["status", "-c", "missing.toml"]), 2, false),
        ("stats", s(&["stats", "-c", &cfg]), 0, false),
        ("stats", s(&["stats", "-c", "missing.toml"]), 2, false),
        (
            "export",
            s(&["export", "-c", &cfg, "--since", "2000-01-01"]),
            0,
            false,
        ),
        (
            "export",
            s(&["export", "-c", &cfg, "--since", "yesterday"]),
            2,
            false,
        ),
        ("schema", s(&["schema"]), 0, false),
        ("migrate", s(&["migrate", "-c", &empty]), 0, false),
        (
            "report",
            s(&[
                "report",
                "-c",
                &cfg,
                "-o",
                dir.join("r.html").to_str().unwrap(),
            ]),
            0,
            false,
        ),
        ("report", s(&["report", "-c", "missing.toml"]), 2, false),
        ("migrate", s(&["migrate", "-c", "missing.toml"]), 2, false),
        ("compact", s(&["compact", "-c", &cfg]), 0, false),
        ("compact", s(&["compact", "-c", "missing.toml"]), 2, false),
        ("compact", s(&["compact", "-c", &empty]), 75, true),
        // A state that is not shared: `worker` needs PostgreSQL.
        ("worker", s(&["worker", "-c", &empty, "--once"]), 2, false),
        ("worker", s(&["worker", "-c", "missing.toml"]), 2, false),
        ("verify", s(&["verify", "-c", &cfg]), 0, false),
        ("verify", s(&["verify", "-c", &broken]), 1, false),
        ("verify", s(&["verify", "-c", "missing.toml"]), 2, false),
        ("verify", s(&["verify", "-c", &empty]), 75, true),
    ];
    // `run 1`: a source that cannot be reached.
    let unreachable = dir.join("unreachable.toml");
    std::fs::write(
        &unreachable,
        std::fs::read_to_string(dir.join("empty.toml")).unwrap()
            + &format!("[[sources]]\nid = \"x\"\nname = \"X\"\nfeeds = [\"{closed}\"]\n"),
    )
    .unwrap();
    let mut scenarios = scenarios;
    scenarios.push((
        "run",
        s(&["run", "-c", unreachable.to_str().unwrap()]),
        1,
        false,
    ));
    // `reprocess 1`: a stored response that gives no article (a PNG): `fetch` fails on it,
    // and so does every `reprocess` after.
    let png = crate::hostile::Hostile::page(|_| {
        crate::hostile::Reply::ok("image/png", b"\x89PNG\r\n\x1a\n not an article")
    })
    .await;
    let image = png.url("/photo.png");
    scenarios.push(("fetch", s(&["fetch", "-c", &empty, &image]), 1, false));
    scenarios.push(("reprocess", s(&["reprocess", "-c", &empty]), 1, false));

    let docs = documented();
    let mut seen: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
    for (command, args, want, hold) in &scenarios {
        let lock = hold.then(|| newsmill::pipeline::lock::acquire(&e.join("s")).unwrap());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = newsmill_async(Path::new(dir), &refs).await;
        drop(lock);
        let (code, err) = code_err(&out);
        assert_eq!(code, *want, "{args:?}:\n{err}");
        let documented = docs
            .get(*command)
            .unwrap_or_else(|| panic!("{command} missing from the README table"));
        assert!(
            documented.contains(&code),
            "`{command}` exits {code} but the README documents {documented:?}"
        );
        seen.entry(command).or_default().insert(code);
    }
    for (command, codes) in &docs {
        for code in codes {
            let staged = seen.get(command.as_str()).is_some_and(|s| s.contains(code));
            let excused = NOT_STAGED.iter().any(|(c, n, _)| c == command && n == code);
            assert!(
                staged || excused,
                "README documents `{command}` exit {code}, but no scenario produces it"
            );
        }
    }
    env.stop.cancel();
}

//! `covenant generate`: its logs are valid, and every operation it writes
//! to break a commitment is found, once, by the built-in rules.

use covenant::events::generate::{LogSpec, generate};
use covenant_e2e::{arg, report, run_cli};

/// A short log (well under the 14-day retention limit, so that no item it
/// forgets to delete is overdue yet): the report's open findings are
/// exactly the violations the generator says it wrote, and without
/// violations the log is compliant.
#[test]
fn the_default_policy_finds_exactly_the_injected_violations() {
    let dir = tempfile::tempdir().unwrap();
    for (rate, seed) in [(0.02, 3), (0.0, 4)] {
        let spec = LogSpec {
            events: 20_000,
            tenants: 12,
            seed,
            violation_rate: rate,
        };
        let path = dir.path().join(format!("log-{seed}.jsonl"));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let stats = generate(&spec, &mut file).unwrap();
        drop(file);
        let report = report(&[path]).unwrap();
        assert_eq!(report.summary.events, 20_000);
        assert_eq!(report.summary.open, stats.violations, "rate {rate}");
        assert_eq!(report.summary.compliant, stats.violations == 0);
        assert!(report.rules.iter().all(|r| r.error.is_none()));
    }
}

/// The command writes the file atomically and refuses nonsense options
/// before creating anything.
#[test]
fn the_command_writes_a_file_or_refuses_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("log.jsonl");
    let args = [
        "generate",
        "--events",
        "500",
        "--seed",
        "9",
        "-o",
        arg(&out),
    ];
    assert_eq!(run_cli(&args), 0);
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 500);
    let refused = dir.path().join("refused.jsonl");
    assert_eq!(
        run_cli(&["generate", "--tenants", "1", "-o", arg(&refused)]),
        2
    );
    assert_eq!(
        run_cli(&["generate", "--violation-rate", "2", "-o", arg(&refused)]),
        2
    );
    assert!(!refused.exists());
}

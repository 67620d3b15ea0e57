//! Rules written in other languages: the personnel-access commitment as a
//! Python component (componentize-py) and as a JavaScript component (jco,
//! componentize-js), from `plugins/examples/`, built here and run by the real
//! `covenant` binary beside the built-in Rust rule. They must flag exactly
//! the events the built-in flags: the interface, not the language, is the
//! contract.
//!
//! The toolchains come from PyPI and npm; `.ci/run` installs them
//! (`pip install -r plugins/examples/python-personnel-purpose/requirements.txt`
//! and `npm ci` in `plugins/examples/js-personnel-purpose`). Without one,
//! each test prints a note and leaves that language out, except on CI (`CI`
//! set), where it fails: CI installs both, so a missing one there is a
//! broken setup.
//!
//! The components are built under Cargo's target directory
//! (`target/tmp/other-languages/`), and the binary with Cargo in this test's
//! own profile, so the run is of the code under test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use covenant::policy::Policy;
use covenant_e2e::{arg, fixture, run_cli};
use serde_json::Value;

/// The fixture both rules are held to, and what the built-in flags in it.
const FIXTURE: &str = "personnel-access.jsonl";
const BUILTIN_FLAGS: [&str; 3] = [
    "pa-03-other-purpose",
    "pa-04-no-purpose",
    "pa-08-empty-purpose",
];

/// Events in the generated log: one full batch, the most the host sends in
/// one `observe` call, so the run shows the limits below suffice.
const BULK_EVENTS: usize = 1_000;

/// One example rule, built.
struct Example {
    /// The rule id its `describe()` reports.
    id: &'static str,
    /// The component, under the target directory.
    wasm: PathBuf,
    /// The body of its `[rule.limits]` table in the test policies.
    limits: &'static str,
}

/// The repository's root.
fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
}

/// The examples whose toolchain is installed, built once per test process:
/// a build takes seconds, and every test here needs them.
fn examples() -> &'static [Example] {
    static BUILT: OnceLock<Vec<Example>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("other-languages");
        std::fs::create_dir_all(&out).unwrap();
        let python = out.join("personnel_purpose_py.wasm");
        let js = out.join("personnel_purpose_js.wasm");
        // Each build is one process on one core: run them side by side.
        let (python_built, js_built) = std::thread::scope(|s| {
            let python = s.spawn(|| build_python(&python));
            let js = s.spawn(|| build_js(&js));
            (python.join().unwrap(), js.join().unwrap())
        });
        let mut built = Vec::new();
        if python_built.unwrap_or_else(|e| panic!("{e}")) {
            built.push(Example {
                id: "personnel-purpose-py",
                wasm: python,
                // A batch of 1,000 findings costs CPython about 0.17e9 fuel
                // and 12.5 MiB: the defaults (5e9, 256 MiB) are ample.
                limits: "",
            });
        }
        if js_built.unwrap_or_else(|e| panic!("{e}")) {
            built.push(Example {
                id: "personnel-purpose-js",
                wasm: js,
                // Returning strings from SpiderMonkey is slow: this test's
                // batch, with 600 findings of ~180 characters, costs about
                // 2.3e9 fuel, and a batch of 1,000 findings would come too
                // near the default 5e9.
                limits: "fuel_per_call = 20_000_000_000",
            });
        }
        built
    })
}

/// Builds the Python example with its `build.sh`. Ok(false) (after a note)
/// when componentize-py is missing off CI.
fn build_python(wasm: &Path) -> Result<bool, String> {
    let dir = workspace().join("plugins/examples/python-personnel-purpose");
    if !runs("componentize-py", &["--version"]) {
        let install = format!(
            "run `pip install -r {}`",
            dir.join("requirements.txt").display()
        );
        return missing("Python", "componentize-py", &install);
    }
    let mut build = Command::new("bash");
    build.arg(dir.join("build.sh")).arg(wasm);
    run_build("the Python example", build, wasm)
}

/// Builds the JavaScript example with its `build.sh` (what `npm run build`
/// runs). Ok(false) (after a note) when npm or the example's pinned packages
/// are missing off CI.
fn build_js(wasm: &Path) -> Result<bool, String> {
    let dir = workspace().join("plugins/examples/js-personnel-purpose");
    let install = format!(
        "install Node.js 20 and npm, then run `npm ci` in {}",
        dir.display()
    );
    if !runs("npm", &["--version"]) {
        return missing("JavaScript", "npm", &install);
    }
    if !dir.join("node_modules/.bin/jco").exists() {
        return missing("JavaScript", "jco in the example's node_modules", &install);
    }
    let mut build = Command::new("bash");
    build.arg(dir.join("build.sh")).arg(wasm);
    run_build("the JavaScript example", build, wasm)
}

/// Whether `program` is there and runs.
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Off CI, a note and Ok(false): the language is left out. On CI, an error
/// saying what to install.
fn missing(language: &str, what: &str, install: &str) -> Result<bool, String> {
    if std::env::var_os("CI").is_some() {
        return Err(format!(
            "no {what} to build the {language} example rule: {install}"
        ));
    }
    eprintln!("note: leaving out the {language} example rule: no {what} ({install})");
    Ok(false)
}

/// Runs a build; an error with its output unless it wrote `wasm`.
fn run_build(what: &str, mut build: Command, wasm: &Path) -> Result<bool, String> {
    let _ = std::fs::remove_file(wasm);
    let output = build
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start the build of {what}: {e}"))?;
    if !output.status.success() || !wasm.is_file() {
        return Err(format!(
            "building {what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(true)
}

/// The `covenant` binary, built by Cargo (or found up to date) in the
/// profile and target directory this test was built in.
fn covenant_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        // This test runs as TARGET/PROFILE/deps/other_languages-HASH.
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(Path::parent).unwrap();
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev",
            Some(name) => name,
            None => panic!("cannot tell this test's profile from {}", exe.display()),
        };
        // Cargo unifies dependencies' features over the packages and targets
        // it builds, so the binary shares this test's build of wasmtime only
        // when built alongside this test, from the same packages: the whole
        // workspace on CI (`.ci/run` runs `cargo test --workspace`), this
        // package otherwise. `cargo build -p covenant` alone would compile
        // wasmtime a second time, for minutes.
        let packages: &[&str] = if std::env::var_os("CI").is_some() {
            &["--workspace"]
        } else {
            &["-p", "covenant", "-p", "covenant-e2e"]
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .args(["build", "--quiet"])
            .args(packages)
            .args(["--bin", "covenant", "--test", "other_languages"])
            .args(["--profile", profile, "--target-dir"])
            .arg(profile_dir.parent().unwrap())
            .current_dir(workspace())
            .stdin(Stdio::null())
            .output()
            .expect("cannot run cargo");
        assert!(
            output.status.success(),
            "cargo build --bin covenant failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        profile_dir.join("covenant")
    })
}

/// Runs `covenant report` with `policy` over `logs` into `out` (JSON), from
/// this package's directory as the other suites do.
fn report(policy: &Path, out: &Path, logs: &[&Path]) -> (Output, Value) {
    let _ = std::fs::remove_file(out);
    let output = Command::new(covenant_binary())
        .args(["report", "--quiet", "--color", "never", "--policy"])
        .arg(policy)
        .arg("-o")
        .arg(out)
        .args(logs)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run covenant");
    let json = std::fs::read_to_string(out).unwrap_or_else(|e| {
        panic!(
            "no report at {} ({e}); covenant said:\n{}",
            out.display(),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, serde_json::from_str(&json).unwrap())
}

/// Writes a policy into `dir` running each example with the config `config`
/// (TOML lines for its `[rule.config]` table), plus `extra` rules, beside
/// copies of the components so that plugin paths are relative to it.
fn write_policy(dir: &Path, config: impl Fn(&Example) -> String, extra: &str) -> PathBuf {
    let mut text = "[policy]\ntitle = \"Personnel access in three languages\"\n".to_string();
    for example in examples() {
        let file = example.wasm.file_name().unwrap().to_str().unwrap();
        std::fs::copy(&example.wasm, dir.join(file)).unwrap();
        text.push_str(&format!(
            "\n[[rule]]\nid = \"{}\"\nplugin = \"{file}\"\ncommitment = '''{}'''\n\
             [rule.config]\n{}\n[rule.limits]\n{}\n",
            example.id,
            commitment(),
            config(example),
            example.limits,
        ));
    }
    text.push_str(extra);
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, text).unwrap();
    policy
}

/// The sentence the built-in `personnel-access` rule checks, from the
/// default policy, which the examples check too.
fn commitment() -> String {
    Policy::builtin()
        .unwrap()
        .rules
        .into_iter()
        .find(|r| r.id == "personnel-access")
        .expect("the default policy has personnel-access")
        .commitment
}

/// A rule's entry in a JSON report.
fn rule<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no rule {id} in the report"))
}

/// The ids of the events a rule flagged.
fn flagged(report: &Value, id: &str) -> BTreeSet<String> {
    rule(report, id)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["event_id"].as_str().unwrap().to_string())
        .collect()
}

/// A full batch of personnel access to customer data, mostly for purposes
/// the commitment does not allow, with the cases the rule must pass over
/// (other actors, no data) mixed in.
fn bulk_log(path: &Path) {
    let mut text = String::new();
    for n in 0..BULK_EVENTS {
        let kind = if n % 10 == 9 { "service" } else { "personnel" };
        let mut event = serde_json::json!({
            "id": format!("bulk-{n:04}"),
            "time": format!("2026-06-02T{:02}:{:02}:{:02}Z", n / 3600, n / 60 % 60, n % 60),
            "action": "access",
            "tenant": "a",
            "actor": {"type": kind, "id": format!("analyst-{}", n % 7)},
        });
        if n % 10 != 8 {
            event["data"] = serde_json::json!({"id": format!("item-{n}"), "tenant": "a"});
        }
        match n % 5 {
            0 => event["purpose"] = "threat-investigation".into(),
            1 => {}
            _ => event["purpose"] = format!("analytics-{}", n % 3).into(),
        }
        text.push_str(&event.to_string());
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

/// Each logged event by id, to check what a finding's message names.
fn events_by_id(logs: &[&Path]) -> BTreeMap<String, Value> {
    logs.iter()
        .flat_map(|log| {
            std::fs::read_to_string(log)
                .unwrap()
                .lines()
                .map(|line| serde_json::from_str::<Value>(line).unwrap())
                .collect::<Vec<_>>()
        })
        .map(|event| (event["id"].as_str().unwrap().to_string(), event))
        .collect()
}

/// The Python and JavaScript rules, run by the binary over the fixture and
/// a full batch, flag exactly the events the built-in Rust rule flags, name
/// the event, actor, data and purpose in each message, and describe
/// themselves with their own id and the default severity `high`.
#[test]
fn python_and_javascript_rules_flag_what_the_builtin_flags() {
    if examples().is_empty() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bulk = dir.path().join("bulk.jsonl");
    bulk_log(&bulk);
    let builtin = format!(
        "\n[[rule]]\nplugin = \"builtin:personnel-access\"\ncommitment = '''{}'''\n",
        commitment()
    );
    let policy = write_policy(dir.path(), |_| String::new(), &builtin);
    let fixture = fixture(FIXTURE);
    let logs = [fixture.as_path(), bulk.as_path()];
    let (output, report) = report(&policy, &dir.path().join("out.json"), &logs);
    assert_eq!(
        output.status.code(),
        Some(1),
        "findings are exit 1; covenant said:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let expected = flagged(&report, "personnel-access");
    let in_fixture: Vec<&str> = expected
        .iter()
        .map(String::as_str)
        .filter(|id| id.starts_with("pa-"))
        .collect();
    assert_eq!(in_fixture, BUILTIN_FLAGS);
    assert!(
        expected.len() > BULK_EVENTS / 2,
        "the bulk log is mostly breaches"
    );

    let events = events_by_id(&logs);
    for example in examples() {
        let entry = rule(&report, example.id);
        assert_eq!(entry["status"], "fail", "{}: {entry}", example.id);
        assert_eq!(entry["plugin"]["name"], example.id);
        assert_eq!(entry["severity"], "high", "{}", example.id);
        assert!(
            entry["description"].as_str().is_some_and(|d| d.len() > 40),
            "{}: {entry}",
            example.id
        );
        assert_eq!(flagged(&report, example.id), expected, "{}", example.id);
        for finding in entry["findings"].as_array().unwrap() {
            let message = finding["message"].as_str().unwrap();
            let event = &events[finding["event_id"].as_str().unwrap()];
            let purpose = event["purpose"].as_str().unwrap_or("for no purpose");
            for named in [&event["id"], &event["actor"]["id"], &event["data"]["id"]] {
                let named = named.as_str().unwrap();
                assert!(
                    message.contains(named),
                    "{}: `{message}` omits {named}",
                    example.id
                );
            }
            assert!(
                message.contains(purpose),
                "{}: `{message}` omits {purpose}",
                example.id
            );
        }
    }
}

/// A configuration the rule cannot use (a value of the wrong type, a
/// misspelt key) makes the constructor return an error, not trap: the rule
/// ends with status `error` and a message naming the problem, and the run
/// exits 3, the code for a rule that could not finish.
#[test]
fn a_bad_configuration_is_refused_with_a_message() {
    if examples().is_empty() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = |example: &Example| {
        if example.id.ends_with("-py") {
            "allowed_purposes = \"threat-investigation\"".to_string()
        } else {
            "allowed = [\"threat-investigation\"]".to_string()
        }
    };
    let policy = write_policy(dir.path(), config, "");
    let fixture = fixture(FIXTURE);
    let (output, report) = report(&policy, &dir.path().join("out.json"), &[&fixture]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "covenant said:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for example in examples() {
        let entry = rule(&report, example.id);
        assert_eq!(entry["status"], "error", "{}: {entry}", example.id);
        let error = entry["error"].as_str().unwrap();
        // Worded like the Rust SDK's configuration errors.
        let problem = if example.id.ends_with("-py") {
            "config.allowed_purposes: invalid type: string \"threat-investigation\", \
             expected a list of strings"
        } else {
            "config.allowed: unknown field `allowed`, expected `actor_kinds` or `allowed_purposes`"
        };
        assert!(
            error.contains("configuration")
                && error.contains(&format!("rule {}: {problem}", example.id))
                && !error.contains("trapped"),
            "{}: {error}",
            example.id
        );
    }
}

/// `covenant plugin new --lang python` and `--lang js` write projects that
/// build with their README's commands and pass their own fixture case
/// through `covenant plugin test`, unedited.
#[test]
fn scaffolded_python_and_javascript_projects_build_and_pass_their_case() {
    let dir = tempfile::tempdir().unwrap();
    for example in examples() {
        let lang = if example.id.ends_with("-py") {
            "python"
        } else {
            "js"
        };
        let id = format!("starter-{lang}");
        let project = dir.path().join(&id);
        assert_eq!(
            run_cli(&["plugin", "new", &id, "--lang", lang, "--dir", arg(&project)]),
            0
        );
        let steps: Vec<Vec<&str>> = if lang == "python" {
            vec![vec!["bash", "build.sh"]]
        } else {
            // The template pins its packages but has no lock file; the
            // example's `npm ci` has filled the cache.
            vec![
                vec![
                    "npm",
                    "install",
                    "--prefer-offline",
                    "--no-audit",
                    "--no-fund",
                    "--silent",
                ],
                vec!["npm", "run", "--silent", "build"],
            ]
        };
        for step in steps {
            let output = Command::new(step[0])
                .args(&step[1..])
                .current_dir(&project)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{lang}: {step:?} failed:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let wasm = project.join(format!("{id}.wasm"));
        let cases = project.join("tests/cases");
        assert_eq!(
            run_cli(&["plugin", "test", arg(&wasm), arg(&cases)]),
            0,
            "{lang}"
        );
    }
}

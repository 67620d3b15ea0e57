//! The HTML report in a real browser: headless Chromium loads the page, runs
//! its script and paints it, and these tests check the DOM it dumps and the
//! pixels it paints.
//!
//! The browser is `$COVENANT_CHROMIUM`, else the first of `chromium`,
//! `chromium-browser` and `google-chrome` on `PATH`. Without one, each test
//! prints a note and passes, except on CI (`CI` set), where it fails: CI
//! installs Chromium, so a missing browser there is a broken setup.
//!
//! Pages and screenshots are kept under Cargo's target directory
//! (`target/tmp/covenant-html/`) for a person or a CI job to look at.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use covenant::evaluate::audit::Audit;
use covenant::policy::Policy;
use covenant::report::{Format, Report};
use covenant_e2e::report;

/// A browser that runs longer than this is killed and the test fails.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

/// The screenshot's window, in CSS pixels.
const WINDOW: (u32, u32) = (1280, 2000);

/// Rows the page's script shows per page of a findings table.
const PAGE_ROWS: usize = 100;

/// Findings in the long report: the default policy's `max_findings`.
const LONG_FINDINGS: usize = 100_000;

/// A headless Chromium to load pages in.
struct Browser {
    binary: PathBuf,
}

impl Browser {
    /// The browser to use, or `None` (after a note) when there is none and
    /// this is not CI. On CI a missing browser fails the test.
    fn find() -> Option<Browser> {
        // An empty variable is what `$(command -v chromium)` leaves when
        // there is none: treat it as unset rather than as a path.
        if let Some(binary) = std::env::var_os("COVENANT_CHROMIUM").filter(|b| !b.is_empty()) {
            return Some(Browser {
                binary: binary.into(),
            });
        }
        let on_path = ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .find_map(|name| which(name));
        match on_path {
            Some(binary) => Some(Browser { binary }),
            None if std::env::var_os("CI").is_some() => panic!(
                "no Chromium for the HTML report tests: set COVENANT_CHROMIUM or put \
                 chromium, chromium-browser or google-chrome on PATH \
                 (on Debian: apt-get install chromium)"
            ),
            None => {
                eprintln!(
                    "note: skipping the HTML browser test: no Chromium found (set \
                     COVENANT_CHROMIUM, or install chromium)"
                );
                None
            }
        }
    }

    /// The page's DOM after its scripts ran.
    fn dump_dom(&self, page: &Path) -> String {
        self.run(
            &[
                "--virtual-time-budget=5000".to_string(),
                "--dump-dom".to_string(),
            ],
            page,
        )
    }

    /// Paints the page into a PNG of [`WINDOW`]'s size at `png`.
    fn screenshot(&self, page: &Path, png: &Path) {
        let _ = std::fs::remove_file(png);
        self.run(
            &[
                "--virtual-time-budget=5000".to_string(),
                format!("--screenshot={}", png.display()),
                format!("--window-size={},{}", WINDOW.0, WINDOW.1),
                "--hide-scrollbars".to_string(),
            ],
            page,
        );
        assert!(
            png.exists(),
            "Chromium wrote no screenshot at {}",
            png.display()
        );
    }

    /// Runs the browser on `page` with a fresh profile and no network use,
    /// and returns what it printed. Fails the test if it exits badly or
    /// runs over [`BROWSER_TIMEOUT`].
    fn run(&self, args: &[String], page: &Path) -> String {
        let profile = tempfile::tempdir().unwrap();
        let page = std::fs::canonicalize(page).unwrap();
        let mut command = Command::new(&self.binary);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(format!("file://{}", page.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group, so that a timeout kills its helpers too.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        let stdout = drain(child.stdout.take().unwrap());
        let stderr = drain(child.stderr.take().unwrap());
        let status = wait_or_kill(&mut child);
        let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
        match status {
            Some(status) if status.success() => stdout,
            Some(status) => panic!("Chromium failed ({status}):\n{stderr}"),
            None => panic!(
                "Chromium ran over {}s and was killed:\n{stderr}",
                BROWSER_TIMEOUT.as_secs()
            ),
        }
    }
}

/// Reads a pipe to its end on a thread, so that a full pipe cannot stall
/// the browser.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for the browser; past [`BROWSER_TIMEOUT`], kills its process group
/// and returns `None`.
fn wait_or_kill(child: &mut Child) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// The first executable called `name` on `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| {
            path.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Where this suite keeps its pages and screenshots.
fn artifact(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("covenant-html");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Renders `report` as HTML into the artifacts directory.
fn write_page(report: &Report, name: &str) -> (PathBuf, String) {
    let html = Format::Html.render(report, false);
    let path = artifact(name);
    std::fs::write(&path, &html).unwrap();
    (path, html)
}

/// The shipped example with its waivers: findings open and waived in
/// several rules.
fn example_report() -> Report {
    let example = PathBuf::from("../examples/defender-demo.jsonl");
    let mut audit = Audit::new(Policy::builtin().unwrap(), vec![example]);
    audit.waivers =
        covenant::policy::waivers::load_waivers(Path::new("../examples/waivers.toml")).unwrap();
    audit.run().unwrap()
}

/// Text as a browser serialises it in an element: `&`, `<`, `>` escaped.
fn as_dom_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The text from just after `start` up to the next `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = from + text[from..].find(end)?;
    Some(&text[from..to])
}

/// A rule's section of the dumped DOM.
fn rule_section<'a>(dom: &'a str, rule: &str) -> &'a str {
    between(
        dom,
        &format!("<section class=\"rule\" id=\"rule-{rule}\""),
        "</section>",
    )
    .unwrap_or_else(|| panic!("no section for rule {rule}"))
}

/// The rows the script put in a section's findings table.
fn finding_rows(section: &str) -> Vec<&str> {
    let Some(table) = between(section, "<table class=\"findings\"", "</table>") else {
        return Vec::new();
    };
    let body = between(table, "<tbody>", "</tbody>").expect("a findings table has a body");
    body.split("<tr").skip(1).collect()
}

/// The text of a section's pager label.
fn pager_label(section: &str) -> &str {
    let label = between(section, "class=\"pager-label\"", "</span>").expect("a pager label");
    &label[label.find('>').unwrap() + 1..]
}

#[test]
fn example_report_renders_with_its_findings() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let report = example_report();
    let (page, _) = write_page(&report, "example.html");
    let dom = browser.dump_dom(&page);
    assert!(
        dom.contains(&as_dom_text(&covenant::report::verdict(&report))),
        "no verdict in:\n{dom}"
    );
    assert!(dom.contains("NOT COMPLIANT"));
    for rule in &report.rules {
        let section = rule_section(&dom, &rule.id);
        let rows = finding_rows(section);
        assert_eq!(
            rows.len(),
            rule.findings.len().min(PAGE_ROWS),
            "{}",
            rule.id
        );
        for finding in &rule.findings {
            assert!(
                section.contains(&as_dom_text(&finding.message)),
                "{}: {}",
                rule.id,
                finding.message
            );
        }
        let waived = rule.findings.iter().filter(|f| f.waived.is_some()).count();
        let waived_rows = rows
            .iter()
            .filter(|r| r.starts_with(" class=\"waived\""))
            .count();
        assert_eq!(waived_rows, waived, "{}", rule.id);
        if !rule.findings.is_empty() {
            let n = rule.findings.len();
            assert_eq!(pager_label(section), format!("rows 1–{n} of {n}"));
        }
    }
    // Waived rows name their waiver and its reason.
    assert!(dom.contains("WVR-101: Legal hold"), "{dom}");
}

#[test]
fn chart_is_drawn_and_painted() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let report = example_report();
    let (page, _) = write_page(&report, "chart.html");
    let dom = browser.dump_dom(&page);
    let svg = between(&dom, "<svg id=\"findings-chart\"", "</svg>").expect("a chart");
    let series: Vec<(&str, &str)> = svg
        .split("<g class=\"series\" data-rule=\"")
        .skip(1)
        .map(|s| {
            let rule = &s[..s.find('"').unwrap()];
            let colour = between(s, "fill=\"", "\"").unwrap();
            (rule, colour)
        })
        .collect();
    let with_findings: Vec<&str> = report
        .rules
        .iter()
        .filter(|r| !r.findings.is_empty())
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(
        series.iter().map(|s| s.0).collect::<Vec<_>>(),
        with_findings
    );
    let mut colours: Vec<&str> = series.iter().map(|s| s.1).collect();
    colours.sort();
    colours.dedup();
    assert_eq!(colours.len(), series.len(), "series colours are distinct");

    let png = artifact("chart.png");
    browser.screenshot(&page, &png);
    let image = Image::read(&png);
    for (rule, colour) in &series {
        assert!(
            image.has_colour(rgb(colour)),
            "no pixel of {rule}'s colour {colour} in {}",
            png.display()
        );
    }
}

#[test]
fn a_hundred_thousand_findings_stay_usable() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("long.jsonl");
    std::fs::write(&log, advertising_log(LONG_FINDINGS)).unwrap();
    let report = report(&[log]).unwrap();
    let rule = report
        .rules
        .iter()
        .find(|r| r.id == "advertising-ban")
        .unwrap();
    assert_eq!(rule.findings.len(), LONG_FINDINGS, "{:?}", rule.error);
    let (page, html) = write_page(&report, "long.html");
    assert!(html.len() < 60 << 20, "the page is {} bytes", html.len());
    let dom = browser.dump_dom(&page);
    let section = rule_section(&dom, "advertising-ban");
    assert_eq!(finding_rows(section).len(), PAGE_ROWS);
    assert_eq!(
        pager_label(section),
        format!("rows 1–{PAGE_ROWS} of {LONG_FINDINGS}")
    );
    assert!(
        section.contains("ad-000000"),
        "the first page starts with the first finding"
    );
    let all_rows: usize = dom
        .split("<table class=\"findings\"")
        .skip(1)
        .map(|t| t[..t.find("</table>").unwrap()].matches("<tr").count())
        .sum();
    assert!(all_rows <= 200, "{all_rows} rows in the findings tables");
    // The chart still draws, with bounded detail: at most 40 bars a rule.
    let svg = between(&dom, "<svg id=\"findings-chart\"", "</svg>").expect("a chart");
    assert!(svg.matches("<rect").count() <= 40 * 10 + 10);
}

#[test]
fn pager_and_filter_work_in_the_browser() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("pages.jsonl");
    std::fs::write(&log, advertising_log(250)).unwrap();
    let (_, html) = write_page(&report(&[log]).unwrap(), "pages.html");
    // A driver appended after the page's own script clicks and types as a
    // reader would, noting the pager label and first row after each step.
    let driver = r#"<script>
(function () {
  var section = document.getElementById("rule-advertising-ban");
  var filter = section.querySelector(".filter");
  var steps = [];
  function note() {
    var first = section.querySelector("table.findings tbody tr td");
    steps.push(section.querySelector(".pager-label").textContent + " @ " +
      (first ? first.textContent : "-") + " # " +
      section.querySelectorAll("table.findings tbody tr").length);
  }
  function type(text) {
    filter.value = text;
    filter.dispatchEvent(new Event("input"));
  }
  note();
  section.querySelector(".next").click(); note();
  section.querySelector(".next").click(); note();
  section.querySelector(".prev").click(); note();
  type("AD-00007"); note();
  type("no such finding"); note();
  type(""); note();
  var out = document.createElement("pre");
  out.id = "driver-result";
  out.textContent = steps.join("\n");
  document.body.appendChild(out);
})();
</script>
</body>"#;
    let page = artifact("pages-driven.html");
    std::fs::write(&page, html.replacen("</body>", driver, 1)).unwrap();
    let dom = browser.dump_dom(&page);
    let result = between(&dom, "<pre id=\"driver-result\">", "</pre>").expect("the driver ran");
    assert_eq!(
        result.lines().collect::<Vec<_>>(),
        [
            "rows 1–100 of 250 @ ad-000000 # 100",
            "rows 101–200 of 250 @ ad-000100 # 100",
            "rows 201–250 of 250 @ ad-000200 # 50",
            "rows 101–200 of 250 @ ad-000100 # 100",
            "rows 1–10 of 10 (filtered from 250) @ ad-000070 # 10",
            "no rows match (filtered from 250) @ - # 0",
            "rows 1–100 of 250 @ ad-000000 # 100",
        ]
    );
}

/// `count` events that only `advertising-ban` flags, 25 seconds apart from
/// 2026-03-01.
fn advertising_log(count: usize) -> String {
    let mut log = String::with_capacity(count * 200);
    for n in 0..count {
        let s = n * 25;
        log.push_str(&format!(
            "{{\"id\":\"ad-{n:06}\",\"time\":\"2026-03-{:02}T{:02}:{:02}:{:02}Z\",\
             \"action\":\"access\",\"tenant\":\"a\",\"actor\":{{\"type\":\"partner\",\
             \"id\":\"adnet\"}},\"purpose\":\"advertising\",\"data\":{{\"id\":\"a-1\",\
             \"tenant\":\"a\"}}}}\n",
            1 + s / 86_400,
            s % 86_400 / 3_600,
            s % 3_600 / 60,
            s % 60
        ));
    }
    log
}

#[test]
fn screenshot_is_written_at_the_window_size() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let (page, _) = write_page(&example_report(), "screenshot.html");
    let png = artifact("example.png");
    browser.screenshot(&page, &png);
    let image = Image::read(&png);
    assert_eq!((image.width, image.height), WINDOW);
    let first = &image.pixels[..3];
    assert!(
        image.pixels.chunks(3).any(|p| p != first),
        "the screenshot is blank"
    );
}

#[test]
fn page_fetches_nothing_and_shows_hostile_text_as_text() {
    let Some(browser) = Browser::find() else {
        return;
    };
    // The page's own links are fragments, and it loads nothing.
    let (_, html) = write_page(&example_report(), "links.html");
    assert!(html.contains(
        "content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
         img-src data:"
    ));
    assert_eq!(attribute_values(&html, "src"), Vec::<&str>::new());
    let hrefs = attribute_values(&html, "href");
    assert!(!hrefs.is_empty());
    for href in hrefs {
        assert!(href.starts_with('#'), "link out of the page: {href}");
    }
    assert!(!html.contains("url(") && !html.contains("@import"));
    for scheme in ["http://", "https://"] {
        // The one allowed occurrence is the SVG namespace, which is a name.
        let uses = html.matches(scheme).count();
        let namespaces = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
        assert!(uses <= namespaces, "{scheme} in the page");
    }

    // Ids and data ids from a log reach the page through findings: markup
    // in them must show as text and never run.
    let attack = "</script><script>document.body.setAttribute('data-pwned','1')</script>\
                  <img src=x onerror=\"document.body.setAttribute('data-pwned','2')\">";
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("hostile.jsonl");
    let event = serde_json::json!({
        "id": attack, "time": "2026-03-01T00:00:00Z", "action": "access", "tenant": "a",
        "actor": {"type": "partner", "id": "adnet"}, "purpose": "advertising",
        "data": {"id": format!("<!--<script>{attack}"), "tenant": "a"},
    });
    std::fs::write(&log, format!("{event}\n")).unwrap();
    let report = report(&[log]).unwrap();
    let (page, html) = write_page(&report, "hostile.html");
    assert_eq!(
        html.matches("</script>").count(),
        2,
        "only the page's own scripts"
    );
    let dom = browser.dump_dom(&page);
    assert!(dom.contains("<body>"), "hostile markup ran:\n{dom}");
    let section = rule_section(&dom, "advertising-ban");
    assert_eq!(finding_rows(section).len(), 1);
    assert!(section.contains(&as_dom_text(attack)), "{section}");
}

/// The values of every `name=` attribute in `html`, quoted or not.
fn attribute_values<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let pattern = format!(" {name}=");
    html.match_indices(&pattern)
        .map(|(at, _)| {
            let rest = &html[at + pattern.len()..];
            match rest.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    let rest = &rest[1..];
                    &rest[..rest.find(quote).unwrap_or(rest.len())]
                }
                _ => &rest[..rest.find([' ', '>']).unwrap_or(rest.len())],
            }
        })
        .collect()
}

/// A decoded screenshot, as 8-bit RGB.
struct Image {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Image {
    /// Decodes a PNG, dropping any alpha channel.
    fn read(path: &Path) -> Image {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buffer).unwrap();
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("unexpected PNG colour type {other:?}"),
        };
        let pixels = buffer[..info.buffer_size()]
            .chunks(channels)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        Image {
            width: info.width,
            height: info.height,
            pixels,
        }
    }

    /// Whether some pixel is `colour`, give or take a little rounding.
    fn has_colour(&self, colour: [u8; 3]) -> bool {
        self.pixels
            .chunks(3)
            .any(|p| p.iter().zip(colour).all(|(a, b)| a.abs_diff(b) <= 3))
    }
}

/// `#rrggbb` as bytes.
fn rgb(hex: &str) -> [u8; 3] {
    let channel = |n: usize| u8::from_str_radix(&hex[1 + 2 * n..3 + 2 * n], 16).unwrap();
    [channel(0), channel(1), channel(2)]
}

//! `covenant plugin new`: a ready-to-build plugin project outside this
//! repository, from the templates in `plugins/templates/`.
//!
//! Every language gets the interface (`wit/rule.wit`, with the frame's
//! layout beside it), a rule skeleton, the shared fixture case
//! (`tests/cases/`), a policy running the rule alone and a README; Python
//! and JavaScript also get the reference frame decoder, which their rules
//! import. The templates are embedded, so the binary needs no checkout to
//! scaffold, except for Rust, whose project depends on the SDK by path.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use include_dir::{Dir, include_dir};

/// The language a new plugin is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    /// Rust with covenant-sdk, built by cargo for wasm32-wasip2.
    Rust,
    /// Python, built by componentize-py.
    Python,
    /// JavaScript, built by jco (componentize-js).
    Js,
}

static RUST: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../plugins/templates/rust");
static PYTHON: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../plugins/templates/python");
static JS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../plugins/templates/js");
/// Files every language shares: the fixture case.
static COMMON: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../plugins/templates/common");

/// The interface a new plugin implements, copied into its project.
const RULE_WIT: &str = include_str!("../../../wit/v3/rule.wit");
/// The layout of the frames `observe` takes, for authors of any language.
const FRAME_LAYOUT: &str = include_str!("../../../wit/v3/frame.md");
/// The reference frame decoders, copied beside a Python or JavaScript rule:
/// one copy per project, so a project builds outside this repository.
const PYTHON_DECODER: &str = include_str!("../../../wit/v3/decoders/covenant_frame.py");
const JS_DECODER: &str = include_str!("../../../wit/v3/decoders/covenant_frame.mjs");

/// Where this binary's own checkout keeps the SDK, the default for Rust
/// projects' path dependency.
const SDK_IN_CHECKOUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/sdk");

/// What to scaffold and where.
#[derive(Debug, Clone)]
pub struct Scaffold {
    /// The rule id: lowercase letters, digits and single hyphens, starting
    /// with a letter (it names the crate, the package and the rule).
    pub id: String,
    /// The language the plugin is written in, which picks the template.
    pub language: Language,
    /// The project folder; must not exist yet, or be empty.
    pub dir: PathBuf,
    /// The SDK a Rust project depends on; defaults to this checkout's.
    pub sdk: Option<PathBuf>,
}

impl Scaffold {
    /// Writes the project and returns the paths written, relative to `dir`.
    pub fn write(&self) -> Result<Vec<PathBuf>> {
        check_id(&self.id)?;
        if self.dir.exists()
            && std::fs::read_dir(&self.dir)
                .with_context(|| format!("{}: cannot read", self.dir.display()))?
                .next()
                .is_some()
        {
            bail!(
                "{}: already exists and is not empty; choose a new folder",
                self.dir.display()
            );
        }
        let sdk = match self.language {
            Language::Rust => Some(self.sdk_path()?),
            Language::Python | Language::Js => None,
        };
        let replacements = [
            ("{{id}}", self.id.clone()),
            ("{{crate}}", self.id.replace('-', "_")),
            ("{{type}}", type_name(&self.id)),
            (
                "{{sdk}}",
                sdk.map(|p| p.display().to_string()).unwrap_or_default(),
            ),
        ];
        let template = match self.language {
            Language::Rust => &RUST,
            Language::Python => &PYTHON,
            Language::Js => &JS,
        };
        let mut files = vec![
            (PathBuf::from("wit/rule.wit"), RULE_WIT.to_string()),
            (PathBuf::from("wit/frame.md"), FRAME_LAYOUT.to_string()),
        ];
        match self.language {
            Language::Rust => {}
            Language::Python => {
                files.push((PathBuf::from("covenant_frame.py"), PYTHON_DECODER.into()))
            }
            Language::Js => files.push((PathBuf::from("covenant_frame.mjs"), JS_DECODER.into())),
        }
        for dir in [template, &COMMON] {
            collect(dir, &mut files)?;
        }
        let mut written = Vec::new();
        for (relative, text) in files {
            let relative = output_name(&relative);
            let text = replacements
                .iter()
                .fold(text, |text, (from, to)| text.replace(from, to));
            let path = self.dir.join(&relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("{}: cannot create", parent.display()))?;
            }
            std::fs::write(&path, text)
                .with_context(|| format!("{}: cannot write", path.display()))?;
            written.push(relative);
        }
        written.sort();
        Ok(written)
    }

    /// The SDK folder, absolute, so the project builds wherever it is.
    fn sdk_path(&self) -> Result<PathBuf> {
        let sdk = self
            .sdk
            .clone()
            .unwrap_or_else(|| PathBuf::from(SDK_IN_CHECKOUT));
        let manifest = sdk.join("Cargo.toml");
        if !manifest.is_file() {
            bail!(
                "no covenant-sdk at {}: this binary was built elsewhere; pass --sdk PATH/TO/covenant/plugins/sdk",
                sdk.display()
            );
        }
        sdk.canonicalize()
            .with_context(|| format!("{}: cannot resolve", sdk.display()))
    }
}

/// Every file under `dir` with its path relative to the template root.
fn collect(dir: &Dir<'_>, files: &mut Vec<(PathBuf, String)>) -> Result<()> {
    for file in dir.files() {
        let text = file
            .contents_utf8()
            .with_context(|| format!("template {} is not UTF-8", file.path().display()))?;
        files.push((file.path().to_path_buf(), text.to_string()));
    }
    for sub in dir.dirs() {
        collect(sub, files)?;
    }
    Ok(())
}

/// A template file's name in the project: `.tmpl` is dropped (it keeps
/// files such as `Cargo.toml` from being taken for real ones in this
/// repository), and `gitignore` becomes `.gitignore`.
fn output_name(template: &Path) -> PathBuf {
    let name = template.file_name().unwrap_or_default().to_string_lossy();
    let name = name.strip_suffix(".tmpl").unwrap_or(&name);
    let name = if name == "gitignore" {
        ".gitignore"
    } else {
        name
    };
    template.with_file_name(name)
}

/// Refuses ids that would not make a valid crate, package or rule name.
fn check_id(id: &str) -> Result<()> {
    let valid = id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.ends_with('-')
        && !id.contains("--");
    if !valid {
        bail!(
            "`{id}` is not a rule id: use lowercase letters, digits and single hyphens, starting with a letter (e.g. `personnel-purpose`)"
        );
    }
    Ok(())
}

/// `personnel-purpose` → `PersonnelPurpose`, the rule's Rust type.
fn type_name(id: &str) -> String {
    id.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_names_in_each_language() {
        assert_eq!(type_name("personnel-purpose2"), "PersonnelPurpose2");
        for bad in ["", "Rule", "2fast", "a--b", "a-", "a_b", "a b"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
        assert!(check_id("no-ads-v2").is_ok());
    }

    #[test]
    fn template_names_map_to_project_names() {
        assert_eq!(
            output_name(Path::new("Cargo.toml.tmpl")),
            Path::new("Cargo.toml")
        );
        assert_eq!(
            output_name(Path::new("gitignore.tmpl")),
            Path::new(".gitignore")
        );
        assert_eq!(
            output_name(Path::new("src/lib.rs")),
            Path::new("src/lib.rs")
        );
    }

    #[test]
    fn every_language_gets_the_interface_the_case_and_no_placeholders() {
        for language in [Language::Rust, Language::Python, Language::Js] {
            let dir = tempfile::tempdir().unwrap();
            let project = dir.path().join("p");
            let written = Scaffold {
                id: "no-ads".to_string(),
                language,
                dir: project.clone(),
                sdk: None,
            }
            .write()
            .unwrap();
            let decoder = match language {
                Language::Rust => None,
                Language::Python => Some("covenant_frame.py"),
                Language::Js => Some("covenant_frame.mjs"),
            };
            for expected in [
                "wit/rule.wit",
                "wit/frame.md",
                "tests/cases/example.jsonl",
                "tests/cases/example.expected.toml",
                "README.md",
                "policy.toml",
            ]
            .into_iter()
            .chain(decoder)
            {
                assert!(
                    written.contains(&PathBuf::from(expected)),
                    "{language:?} {expected}"
                );
            }
            for file in &written {
                let text = std::fs::read_to_string(project.join(file)).unwrap();
                assert!(
                    !text.contains("{{"),
                    "{language:?} {} keeps a placeholder",
                    file.display()
                );
            }
            let wit = std::fs::read_to_string(project.join("wit/rule.wit")).unwrap();
            assert!(wit.contains("package covenant:rule@3.0.0;"), "{language:?}");
            let case =
                std::fs::read_to_string(project.join("tests/cases/example.expected.toml")).unwrap();
            assert!(case.contains("rule = \"no-ads\""));
        }
    }

    #[test]
    fn a_non_empty_folder_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let scaffold = Scaffold {
            id: "no-ads".to_string(),
            language: Language::Rust,
            dir: dir.path().to_path_buf(),
            sdk: None,
        };
        assert!(scaffold.write().is_err());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(),
            "mine"
        );
    }
}

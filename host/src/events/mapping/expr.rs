//! The small expression language of mapping files: paths into a JSON
//! record, templates that join them, and the conditions that skip records.
//!
//! It is deliberately not a query language. A mapping says where a field
//! is and, at most, how to tidy it (decode a URL, cut a prefix); anything
//! cleverer belongs in a rule, which is sandboxed, rather than in the
//! reader, which is not.

use anyhow::{Result, bail};
use serde_json::Value;

/// Where a value is in a record: `a.b[0].c`, `resources[type=AWS::S3::Bucket].accountId`,
/// or, inside a fan-out or a list, `@` (the element at hand) and `@.name`.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    from_element: bool,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
    /// Every element of an array.
    All,
    /// The elements of an array that are objects whose `key` is the string `value`.
    Where {
        key: String,
        value: String,
    },
}

impl Step {
    /// Where one step leads from `value`: nowhere, one value, or (for
    /// `[*]` and `[key=value]`) several.
    fn follow<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        match (self, value) {
            (Step::Key(key), Value::Object(map)) => map.get(key).into_iter().collect(),
            (Step::Index(i), Value::Array(items)) => items.get(*i).into_iter().collect(),
            (Step::All, Value::Array(items)) => items.iter().collect(),
            (Step::Where { key, value }, Value::Array(items)) => (items.iter())
                .filter(|item| item.get(key).and_then(Value::as_str) == Some(value.as_str()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The record a path is looked up in, and the element at hand, if any.
#[derive(Clone, Copy)]
pub struct Scope<'v> {
    /// The whole record.
    pub record: &'v Value,
    /// The fan-out's or the list's element, which `@` names.
    pub element: Option<&'v Value>,
}

impl Path {
    /// Parses a path as mapping files write it.
    pub fn parse(text: &str) -> Result<Path> {
        let text = text.trim();
        let (from_element, rest) = match text.strip_prefix('@') {
            Some(rest) => (true, rest.strip_prefix('.').unwrap_or(rest)),
            None => (false, text),
        };
        if rest.is_empty() && !from_element {
            bail!("a path must not be empty");
        }
        let mut steps = Vec::new();
        let mut chars = rest;
        while !chars.is_empty() {
            if let Some(after) = chars.strip_prefix('[') {
                let Some(end) = after.find(']') else {
                    bail!("path `{text}`: `[` without `]`");
                };
                let inside = after[..end].trim();
                steps.push(if inside == "*" {
                    Step::All
                } else if let Ok(index) = inside.parse::<usize>() {
                    Step::Index(index)
                } else if let Some((key, value)) = inside.split_once('=') {
                    Step::Where {
                        key: key.trim().to_string(),
                        value: value.trim().to_string(),
                    }
                } else {
                    bail!("path `{text}`: `[{inside}]` is neither an index, `*` nor `key=value`");
                });
                chars = after[end + 1..]
                    .strip_prefix('.')
                    .unwrap_or(&after[end + 1..]);
            } else {
                let end = chars.find(['.', '[']).unwrap_or(chars.len());
                let key = &chars[..end];
                if key.is_empty() {
                    bail!("path `{text}`: empty key");
                }
                steps.push(Step::Key(key.to_string()));
                chars = chars[end..].strip_prefix('.').unwrap_or(&chars[end..]);
            }
        }
        Ok(Path {
            from_element,
            steps,
        })
    }

    /// Every value the path reaches, in document order: one at most,
    /// unless it goes through `[*]` or `[key=value]`.
    pub fn all<'v>(&self, scope: Scope<'v>) -> Vec<&'v Value> {
        let start = if self.from_element {
            match scope.element {
                Some(element) => element,
                None => return Vec::new(),
            }
        } else {
            scope.record
        };
        let mut at = vec![start];
        for step in &self.steps {
            at = at
                .into_iter()
                .flat_map(|value| step.follow(value))
                .collect();
        }
        at.retain(|value| !value.is_null());
        at
    }

    /// The first value the path reaches, if any (`null` counts as none).
    pub fn first<'v>(&self, scope: Scope<'v>) -> Option<&'v Value> {
        // The one [`all`](Self::all) would put first, found without
        // collecting: every field of every record is looked up this way.
        let start = if self.from_element {
            scope.element?
        } else {
            scope.record
        };
        first_along(start, &self.steps)
    }

    /// The first value as text: a string as it is, a number or a boolean
    /// as JSON writes it; an object or an array is no text.
    pub fn text(&self, scope: Scope<'_>) -> Option<String> {
        scalar_text(self.first(scope)?)
    }
}

/// The first non-null value `steps` reach from `value`, in document order.
fn first_along<'v>(value: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    let Some((step, rest)) = steps.split_first() else {
        return (!value.is_null()).then_some(value);
    };
    match (step, value) {
        (Step::Key(key), Value::Object(map)) => first_along(map.get(key)?, rest),
        (Step::Index(i), Value::Array(items)) => first_along(items.get(*i)?, rest),
        (Step::All, Value::Array(items)) => items.iter().find_map(|item| first_along(item, rest)),
        (Step::Where { key, value }, Value::Array(items)) => (items.iter())
            .filter(|item| item.get(key).and_then(Value::as_str) == Some(value.as_str()))
            .find_map(|item| first_along(item, rest)),
        _ => None,
    }
}

/// A scalar as text, as a template puts it in.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A way to tidy a value inside a template: `{path|name:argument}`.
#[derive(Debug, Clone, PartialEq)]
enum Filter {
    /// Percent-decoding, as URLs and S3 copy sources are written.
    UrlDecode,
    /// The part before the first `argument`, or all of it.
    Before(String),
    /// The rest after `argument`; nothing at all when the value does not
    /// start with it, so that a list of fallbacks moves on.
    StripPrefix(String),
    /// The value with every leading `argument` removed.
    TrimStart(String),
    /// Lower case.
    Lower,
}

impl Filter {
    fn parse(text: &str) -> Result<Filter> {
        let (name, argument) = match text.split_once(':') {
            Some((name, argument)) => (name.trim(), Some(argument.to_string())),
            None => (text.trim(), None),
        };
        let needs = |argument: Option<String>| match argument {
            Some(argument) if !argument.is_empty() => Ok(argument),
            _ => bail!("filter `{name}` needs an argument: `{name}:TEXT`"),
        };
        Ok(match name {
            "urldecode" => Filter::UrlDecode,
            "lower" => Filter::Lower,
            "before" => Filter::Before(needs(argument)?),
            "strip_prefix" => Filter::StripPrefix(needs(argument)?),
            "trim_start" => Filter::TrimStart(needs(argument)?),
            other => bail!(
                "unknown filter `{other}` (known: urldecode, before:X, strip_prefix:X, trim_start:X, lower)"
            ),
        })
    }

    fn apply(&self, text: String) -> Option<String> {
        match self {
            Filter::UrlDecode => Some(percent_decode(&text)),
            Filter::Before(mark) => Some(match text.find(mark.as_str()) {
                Some(at) => text[..at].to_string(),
                None => text,
            }),
            Filter::StripPrefix(prefix) => text.strip_prefix(prefix.as_str()).map(str::to_string),
            Filter::TrimStart(prefix) => Some(text.trim_start_matches(prefix.as_str()).to_string()),
            Filter::Lower => Some(text.to_lowercase()),
        }
    }
}

/// Decodes `%XX` escapes; `+` stays `+`, as in a path. An escape that is
/// not two hex digits, or bytes that are not UTF-8, are kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// Text with `{path|filter}` holes: `s3://{requestParameters.bucketName}/{requestParameters.key}`.
/// `{{` and `}}` stand for braces.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Hole(Path, Vec<Filter>),
}

impl Template {
    /// Parses a template as mapping files write it.
    pub fn parse(text: &str) -> Result<Template> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find(['{', '}']) {
            literal.push_str(&rest[..at]);
            let brace = rest.as_bytes()[at];
            if rest[at + 1..].starts_with(brace as char) {
                literal.push(brace as char);
                rest = &rest[at + 2..];
                continue;
            }
            if brace == b'}' {
                bail!("template `{text}`: `}}` without `{{` (write `}}}}` for a brace)");
            }
            let Some(end) = rest[at..].find('}') else {
                bail!("template `{text}`: `{{` without `}}`");
            };
            let inside = &rest[at + 1..at + end];
            let mut parts = inside.split('|');
            let path = Path::parse(parts.next().unwrap_or_default())
                .map_err(|e| anyhow::anyhow!("template `{text}`: {e}"))?;
            let filters = parts.map(Filter::parse).collect::<Result<Vec<_>>>()?;
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Hole(path, filters));
            rest = &rest[at + end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template { pieces })
    }

    /// The template filled in, or nothing when a hole finds no value (or a
    /// filter gives none).
    pub fn fill(&self, scope: Scope<'_>) -> Option<String> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Hole(path, filters) => {
                    let mut value = path.text(scope)?;
                    for filter in filters {
                        value = filter.apply(value)?;
                    }
                    out.push_str(&value);
                }
            }
        }
        Some(out)
    }
}

/// When a record is skipped: `path` (it is there and not null), `!path`
/// (it is not), `path == text`, `path != text`, and `&&` between them.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    all: Vec<Test>,
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Present(Path),
    Absent(Path),
    Equals(Path, String),
    Differs(Path, String),
}

impl Condition {
    /// Parses a condition as mapping files write it.
    pub fn parse(text: &str) -> Result<Condition> {
        let all = text
            .split("&&")
            .map(|test| {
                let test = test.trim();
                Ok(if let Some((path, value)) = test.split_once("!=") {
                    Test::Differs(Path::parse(path)?, value.trim().to_string())
                } else if let Some((path, value)) = test.split_once("==") {
                    Test::Equals(Path::parse(path)?, value.trim().to_string())
                } else if let Some(path) = test.strip_prefix('!') {
                    Test::Absent(Path::parse(path)?)
                } else {
                    Test::Present(Path::parse(test)?)
                })
            })
            .collect::<Result<Vec<_>>>()
            .map_err(|e| anyhow::anyhow!("condition `{text}`: {e}"))?;
        Ok(Condition { all })
    }

    /// Whether the record (and element) in `scope` meets it.
    pub fn holds(&self, scope: Scope<'_>) -> bool {
        self.all.iter().all(|test| match test {
            Test::Present(path) => path.first(scope).is_some(),
            Test::Absent(path) => path.first(scope).is_none(),
            Test::Equals(path, value) => path.text(scope).as_deref() == Some(value),
            Test::Differs(path, value) => path.text(scope).as_deref() != Some(value),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(record: &Value) -> Scope<'_> {
        Scope {
            record,
            element: None,
        }
    }

    #[test]
    fn paths_reach_keys_indexes_and_matching_elements() {
        let record = json!({
            "a": {"b": [10, 20]},
            "resources": [
                {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k"},
                {"type": "AWS::S3::Bucket", "accountId": "111"},
            ],
            "gone": null,
        });
        let at = |path: &str| Path::parse(path).unwrap().text(scope(&record));
        assert_eq!(at("a.b[1]"), Some("20".into()));
        assert_eq!(
            at("resources[type=AWS::S3::Bucket].accountId"),
            Some("111".into())
        );
        assert_eq!(at("resources[type=AWS::Lambda].accountId"), None);
        assert_eq!(at("a.b[5]"), None);
        assert_eq!(at("gone"), None);
        assert_eq!(at("a"), None, "an object is no text");
        let all = Path::parse("resources[*].type").unwrap();
        assert_eq!(all.all(scope(&record)).len(), 2);
        for path in [
            "resources[*].accountId",
            "resources[*].ARN",
            "a.b[*]",
            "resources[type=AWS::S3::Bucket]",
        ] {
            let path = Path::parse(path).unwrap();
            assert_eq!(
                path.first(scope(&record)),
                path.all(scope(&record)).first().copied()
            );
        }
    }

    #[test]
    fn at_names_the_element_and_nothing_without_one() {
        let record = json!({"x": 1});
        let element = json!({"name": "n"});
        let path = Path::parse("@.name").unwrap();
        assert_eq!(path.text(scope(&record)), None);
        let with = Scope {
            record: &record,
            element: Some(&element),
        };
        assert_eq!(path.text(with), Some("n".into()));
    }

    #[test]
    fn bad_paths_say_what_is_wrong() {
        for (path, says) in [
            ("a[", "without `]`"),
            ("a[x]", "neither an index"),
            ("a..b", "empty key"),
            ("", "must not be empty"),
        ] {
            let error = Path::parse(path).unwrap_err().to_string();
            assert!(error.contains(says), "{path}: {error}");
        }
    }

    #[test]
    fn templates_fill_in_filter_and_fail_on_a_missing_hole() {
        let record = json!({"p": {"bucketName": "raw", "key": "a b.json",
                                  "src": "/raw/a%20b.json?versionId=3"},
                            "arn": "arn:aws:s3:::raw/k"});
        let fill = |t: &str| Template::parse(t).unwrap().fill(scope(&record));
        assert_eq!(
            fill("s3://{p.bucketName}/{p.key}"),
            Some("s3://raw/a b.json".into())
        );
        assert_eq!(
            fill("s3://{p.src|before:?|urldecode|trim_start:/}"),
            Some("s3://raw/a b.json".into())
        );
        assert_eq!(
            fill("s3://{arn|strip_prefix:arn:aws:s3:::}"),
            Some("s3://raw/k".into())
        );
        assert_eq!(fill("{p.bucketName|strip_prefix:arn:}"), None);
        assert_eq!(fill("{p.missing}/x"), None);
        assert_eq!(
            fill("{{literal}} {p.bucketName|lower}"),
            Some("{literal} raw".into())
        );
        assert!(Template::parse("{a|shout}").is_err());
        assert!(Template::parse("{a").is_err());
        assert!(Template::parse("a}").is_err());
        assert!(Template::parse("{a|before}").is_err());
    }

    #[test]
    fn percent_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(percent_decode("a%2Fb%20c"), "a/b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%FF"), "%FF", "not UTF-8 once decoded");
    }

    #[test]
    fn conditions_test_presence_and_values() {
        let record = json!({"errorCode": "AccessDenied", "status_id": 2, "n": null});
        let holds = |c: &str| Condition::parse(c).unwrap().holds(scope(&record));
        assert!(holds("errorCode"));
        assert!(!holds("n"));
        assert!(holds("!n"));
        assert!(holds("status_id == 2"));
        assert!(!holds("status_id != 2"));
        assert!(holds("errorCode && status_id == 2"));
        assert!(!holds("errorCode && !status_id"));
    }
}

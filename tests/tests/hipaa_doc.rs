//! Keeps `docs/HIPAA.md` honest: every test it names exists under that name, and every HIPAA
//! specification it must cover has a section naming at least one test.
//!
//! A privacy officer reads the document as evidence; a test renamed or deleted without the
//! document changing would leave it citing proof that no longer runs. Bullets take one fixed
//! form, one test each:
//!
//! ```text
//! - `rust: crates/store/tests/at_rest.rs::fn_name`
//! - `ui: ui/src/lib/foo.test.ts::the it() title`
//! - `browser: ui/tests/browser/app.test.mjs::the test() title`
//! - `desktop: tests/tests/desktop.rs::fn_name`
//! ```
//!
//! The check reads source text rather than running anything, so it stays fast and needs no UI
//! toolchain. Titles built from template literals with `${...}` cannot be matched and are
//! refused.

use std::path::Path;

/// The specifications the document must cover, each matched in a heading by its CFR reference.
const REQUIRED: &[&str] = &[
    "164.312(a)(2)(i)",
    "164.312(a)(2)(ii)",
    "164.312(a)(2)(iii)",
    "164.312(a)(2)(iv)",
    "164.312(b)",
    "164.312(c)(1)",
    "164.312(c)(2)",
    "164.312(d)",
    "164.312(e)(1)",
    "164.312(e)(2)(i)",
    "164.312(e)(2)(ii)",
    "164.308(a)(7)(ii)(A)",
    "164.308(a)(7)(ii)(B)",
    "164.308(a)(7)(ii)(C)",
    "164.308(a)(7)(ii)(D)",
];

/// How far above a `fn` its `#[test]` may be: room for a few other attributes and comments.
const ATTRIBUTE_LOOKBACK: usize = 8;

/// Which kind of test a bullet names, which decides how its file is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rust,
    Ui,
    Browser,
    Desktop,
}

impl Kind {
    fn parse(word: &str) -> Option<Self> {
        match word {
            "rust" => Some(Self::Rust),
            "ui" => Some(Self::Ui),
            "browser" => Some(Self::Browser),
            "desktop" => Some(Self::Desktop),
            _ => None,
        }
    }

    /// The file extensions this kind of test lives in.
    fn extensions(self) -> &'static [&'static str] {
        match self {
            Self::Rust | Self::Desktop => &["rs"],
            Self::Ui => &["ts"],
            Self::Browser => &["mjs", "js"],
        }
    }
}

/// One test bullet: where it is in the document and what it names.
#[derive(Debug)]
struct TestRef {
    line: usize,
    text: String,
    kind: Kind,
    path: String,
    name: String,
}

/// A heading of the document and how many test bullets follow it before the next heading.
#[derive(Debug)]
struct Section {
    heading: String,
    tests: usize,
}

#[derive(Debug, Default)]
struct Parsed {
    refs: Vec<TestRef>,
    sections: Vec<Section>,
    /// Bullets that look like test references but cannot be read as one.
    malformed: Vec<String>,
}

fn parse(doc: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for (index, raw) in doc.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim_start();
        if trimmed.starts_with('#') {
            parsed.sections.push(Section {
                heading: trimmed.trim_start_matches('#').trim().to_owned(),
                tests: 0,
            });
            continue;
        }
        // Only the text between the first pair of backticks is the reference; anything after
        // the closing backtick is commentary.
        let Some(rest) = trimmed.strip_prefix("- `") else {
            continue;
        };
        let Some((inner, _)) = rest.split_once('`') else {
            continue;
        };
        let Some((word, target)) = inner.split_once(": ") else {
            continue;
        };
        let Some(kind) = Kind::parse(word) else {
            // A misspelt kind would otherwise drop the bullet silently.
            if word.chars().all(|c| c.is_ascii_lowercase()) && target.contains("::") {
                parsed
                    .malformed
                    .push(format!("line {line}: `{inner}`: unknown kind {word:?}"));
            }
            continue;
        };
        let Some((path, name)) = target.split_once("::") else {
            parsed
                .malformed
                .push(format!("line {line}: `{inner}`: expected PATH::NAME"));
            continue;
        };
        if path.is_empty() || name.trim().is_empty() {
            parsed
                .malformed
                .push(format!("line {line}: `{inner}`: empty path or name"));
            continue;
        }
        if let Some(section) = parsed.sections.last_mut() {
            section.tests += 1;
        }
        parsed.refs.push(TestRef {
            line,
            text: inner.to_owned(),
            kind,
            path: path.to_owned(),
            name: name.to_owned(),
        });
    }
    parsed
}

/// What the attributes above a function make of it.
#[derive(Debug, PartialEq, Eq)]
enum Marked {
    Test,
    /// `#[ignore]`: it compiles but does not run, so it proves nothing.
    Ignored,
    NotATest,
}

/// Whether `source` has `fn name(` as a test. Matches only a declaration (nothing but
/// qualifiers before `fn` on its line), so a call or a comment mentioning it does not count.
fn rust_test(source: &str, name: &str) -> Marked {
    let lines: Vec<&str> = source.lines().collect();
    let signature = format!("fn {name}(");
    let mut best = Marked::NotATest;
    for (index, line) in lines.iter().enumerate() {
        let Some(at) = line.find(&signature) else {
            continue;
        };
        let qualifiers_only = line[..at]
            .split_whitespace()
            .all(|word| ["pub", "pub(crate)", "async", "const", "unsafe"].contains(&word));
        if !qualifiers_only {
            continue;
        }
        match attributes_above(&lines[..index]) {
            Marked::Test => return Marked::Test,
            Marked::Ignored => best = Marked::Ignored,
            Marked::NotATest => {}
        }
    }
    best
}

/// Reads upwards from a `fn` over its attributes, comments and blank lines.
fn attributes_above(before: &[&str]) -> Marked {
    let mut test = false;
    let mut ignored = false;
    for line in before.iter().rev().take(ATTRIBUTE_LOOKBACK) {
        let line = line.trim();
        if let Some(attribute) = line.strip_prefix("#[") {
            // `#[test]`, `#[tokio::test]`, `#[tokio::test(flavor = ...)]`; not `#[cfg(test)]`.
            let path = attribute.split(['(', ']']).next().unwrap_or_default();
            test |= path == "test" || path.ends_with("::test");
            ignored |= path == "ignore";
        } else if !(line.is_empty() || line.starts_with("//")) {
            break;
        }
    }
    match (test, ignored) {
        (true, false) => Marked::Test,
        (true, true) => Marked::Ignored,
        (false, _) => Marked::NotATest,
    }
}

/// Whether `source` declares a Vitest or node:test case titled exactly `title`, with `it(` or
/// `test(` and any quote. `it.skip(` and `it.only(` do not count; neither does `submit('...'`.
fn js_test(source: &str, title: &str) -> bool {
    ["it", "test"].iter().any(|function| {
        ['\'', '"', '`'].iter().any(|quote| {
            let call = format!("{function}({quote}{title}{quote}");
            source.match_indices(&call).any(|(at, _)| {
                !source[..at].ends_with(|c: char| c.is_alphanumeric() || "_.$".contains(c))
            })
        })
    })
}

/// Every bullet whose test cannot be found, with the reason.
fn missing_tests(root: &Path, refs: &[TestRef]) -> Vec<String> {
    let mut problems = Vec::new();
    for test in refs {
        let at = format!("line {}: `{}`", test.line, test.text);
        let relative = Path::new(&test.path);
        let outside = relative.is_absolute()
            || relative
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir));
        if outside {
            problems.push(format!("{at}: the path must be inside the repository"));
            continue;
        }
        let extension = relative
            .extension()
            .and_then(std::ffi::OsStr::to_str)
            .unwrap_or_default();
        if !test.kind.extensions().contains(&extension) {
            problems.push(format!(
                "{at}: a {:?} test lives in a .{} file",
                test.kind,
                test.kind.extensions().join(" or .")
            ));
            continue;
        }
        if test.name.contains("${") {
            problems.push(format!(
                "{at}: a title built from a template literal cannot be checked; name another test"
            ));
            continue;
        }
        let Ok(source) = std::fs::read_to_string(root.join(relative)) else {
            problems.push(format!("{at}: no such file {}", test.path));
            continue;
        };
        match test.kind {
            Kind::Rust | Kind::Desktop => match rust_test(&source, &test.name) {
                Marked::Test => {}
                Marked::Ignored => problems.push(format!("{at}: the test is #[ignore]d")),
                Marked::NotATest => problems.push(format!(
                    "{at}: no `fn {}(` under a #[test] attribute in {}",
                    test.name, test.path
                )),
            },
            Kind::Ui | Kind::Browser => {
                if !js_test(&source, &test.name) {
                    problems.push(format!(
                        "{at}: no it() or test() titled exactly {:?} in {}",
                        test.name, test.path
                    ));
                }
            }
        }
    }
    problems
}

/// Every required specification that no heading names, or whose sections name no test.
fn uncovered(sections: &[Section]) -> Vec<String> {
    let mut problems = Vec::new();
    for spec in REQUIRED {
        let named: Vec<&Section> = sections
            .iter()
            .filter(|s| s.heading.contains(spec))
            .collect();
        if named.is_empty() {
            problems.push(format!("no heading names {spec}"));
        } else if named.iter().all(|s| s.tests == 0) {
            problems.push(format!("the section for {spec} names no test"));
        }
    }
    problems
}

/// Everything wrong with `doc`, one line each; empty when it is honest.
fn check(doc: &str, root: &Path) -> Vec<String> {
    let parsed = parse(doc);
    let mut problems = parsed.malformed;
    problems.extend(missing_tests(root, &parsed.refs));
    problems.extend(uncovered(&parsed.sections));
    problems
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package sits inside the repository")
}

#[test]
fn every_test_the_hipaa_document_names_exists_and_every_specification_has_one() {
    let root = repo_root();
    let path = root.join("docs/HIPAA.md");
    let doc = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let parsed = parse(&doc);
    assert!(
        parsed.refs.len() >= REQUIRED.len(),
        "docs/HIPAA.md names only {} tests: do its bullets still read - `rust: PATH::NAME`?",
        parsed.refs.len()
    );
    let problems = check(&doc, root);
    assert!(
        problems.is_empty(),
        "docs/HIPAA.md is out of step with the tests ({} problems); rename the test in the \
         document, or name another that proves the same safeguard:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The checker itself must be able to fail: a document naming tests that do not exist, a
/// helper that is not a test, a misspelt kind and a section without tests is reported on each.
#[test]
fn the_checker_reports_every_wrong_name_and_every_uncovered_specification() {
    let doc = "\
# A document
### 164.312(b) Audit controls
- `rust: crates/store/tests/forgery.rs::attack_3_an_edited_audit_entry_fails_verification_at_that_entry`
- `rust: crates/store/tests/forgery.rs::attack_99_no_such_test`
- `rust: crates/store/tests/forgery.rs::clinic`
- `ui: ui/src/lib/audit.test.ts::marks what a privacy officer must see`
- `ui: ui/src/lib/audit.test.ts::a title nobody wrote`
- `desktop: tests/tests/no_such_file.rs::anything`
- `browser: crates/store/tests/forgery.rs::attack_1a_editing_the_text_where_the_chart_reads_it_shows_signature_invalid`
- `rsut: crates/store/tests/forgery.rs::attack_5_an_older_copy_of_the_whole_profile_is_reported_at_unlock`
- `outpost audit verify` is a command, not a test reference
### 164.312(d) Person or entity authentication
Prose only.
";
    let problems = check(doc, repo_root());
    let reported = |needle: &str| problems.iter().any(|p| p.contains(needle));
    for wrong in [
        "attack_99_no_such_test",
        "forgery.rs::clinic`",
        "a title nobody wrote",
        "no such file tests/tests/no_such_file.rs",
        "a Browser test lives in a .mjs or .js file",
        "unknown kind \"rsut\"",
        "the section for 164.312(d) names no test",
        "no heading names 164.312(a)(2)(i)",
    ] {
        assert!(
            reported(wrong),
            "not reported: {wrong}\nreported:\n{}",
            problems.join("\n")
        );
    }
    for right in [
        "attack_3_an_edited_audit_entry",
        "marks what a privacy officer must see",
        "164.312(b)",
        "outpost audit verify",
    ] {
        assert!(
            !reported(right),
            "reported although right: {right}\n{}",
            problems.join("\n")
        );
    }
}

/// The source matchers, on text written here: only a declared, running test counts.
#[test]
fn only_a_declared_running_test_counts() {
    let rust = r#"
#[test]
#[allow(clippy::too_many_lines)] // one scenario
fn plain() {}

/// A doc comment above the attribute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tokio() {}

#[test]
#[ignore]
fn ignored() {}

#[cfg(test)]
fn configured_helper() {}

fn helper() { plain(); }
// fn commented_out() {}
"#;
    assert_eq!(rust_test(rust, "plain"), Marked::Test);
    assert_eq!(rust_test(rust, "with_tokio"), Marked::Test);
    assert_eq!(rust_test(rust, "ignored"), Marked::Ignored);
    for not_a_test in ["configured_helper", "helper", "commented_out", "pla"] {
        assert_eq!(
            rust_test(rust, not_a_test),
            Marked::NotATest,
            "{not_a_test}"
        );
    }

    let js = "
it('single quotes', () => {});
  test(\"double quotes\", async () => {});
test(`backticks`, async () => {});
it.skip('skipped', () => {});
submit('not a test');
";
    for title in ["single quotes", "double quotes", "backticks"] {
        assert!(js_test(js, title), "{title}");
    }
    for title in ["skipped", "not a test", "single"] {
        assert!(!js_test(js, title), "{title}");
    }
}

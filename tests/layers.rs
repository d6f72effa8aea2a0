//! The layers of the code and the size of its files, checked by reading `src/`.
//!
//! Each module of the crate sits in one layer (`LAYERS`, below: the table to read to see where
//! a module belongs), and a module imports only from its own layer and the layers below it, read
//! from every `crate::…`, `super::…`, `self::…` path and every path through a child module in
//! its code (unit tests aside: a test may build its fixtures with anything). Two fronts never
//! import each other. A new module fails here until it is placed in the table.
//!
//! No source file has more than `MAX_CODE_LINES` lines of code outside its unit-test modules
//! (counted as tokei does: a line that is neither blank nor a comment); a module's `tests.rs`
//! is its unit tests.
//!
//! Nothing is built or run: the test reads the files under `CARGO_MANIFEST_DIR/src`.
#![allow(clippy::unwrap_used)] // The shared helpers unwrap: in tests a failed unwrap is a failed test.

mod common;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module imports only from its own layer and the ones below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    /// Values, codes, escaping, helper programs, files: what everything else is made of.
    Base,
    /// What the machine says, as typed values: no sentences.
    Evidence,
    /// Evidence in, typed findings and fixes out (pure).
    Decision,
    /// The diagnosis's and the recorder's own sentences, from typed values.
    Words,
    /// Evidence, decision and words assembled into one result; the recorder running.
    Features,
    /// Everything a front prints about a feature's result.
    Render,
    /// Parse input, draw, exit codes.
    Fronts,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Layer::Base => "base",
            Layer::Evidence => "evidence",
            Layer::Decision => "decision",
            Layer::Words => "words",
            Layer::Features => "features",
            Layer::Render => "render",
            Layer::Fronts => "fronts",
        };
        f.write_str(name)
    }
}

/// Where each module sits: a module path (`record::words`) and its layer. The longest entry that
/// begins a module's path places it (`record::store` is in `record`'s layer).
const LAYERS: &[(&str, Layer)] = &[
    // base
    ("target", Layer::Base),
    ("text", Layer::Base),
    ("program", Layer::Base),
    ("build_info", Layer::Base),
    ("tools", Layer::Base),
    ("files", Layer::Base),
    ("par", Layer::Base),
    ("winsock", Layer::Base),
    // evidence
    ("platform", Layer::Evidence),
    ("oserror", Layer::Evidence),
    ("catalog", Layer::Evidence),
    ("probe", Layer::Evidence),
    ("owners", Layer::Evidence),
    ("facts", Layer::Evidence),
    ("nat", Layer::Evidence),
    // The recorder's values, its database, its history and its readers (eBPF, the journal).
    ("record", Layer::Evidence),
    // decision
    ("diagnose", Layer::Decision),
    // words
    ("wording", Layer::Words),
    ("record::words", Layer::Words),
    // features
    ("check", Layer::Features),
    ("end", Layer::Features),
    ("scan", Layer::Features),
    ("support", Layer::Features),
    ("watch", Layer::Features),
    ("close", Layer::Features),
    ("remote", Layer::Features),
    // The recorder at work: reads the table, writes the database, tells the journal.
    ("record::capture", Layer::Features),
    // render
    ("render", Layer::Render),
    ("export", Layer::Render),
    // fronts
    ("cli", Layer::Fronts),
    ("gui", Layer::Fronts),
];

/// Names the crate's root re-exports, and the module each comes from.
const ROOT_ITEMS: &[(&str, &str)] = &[
    ("Target", "target"),
    ("Family", "target"),
    ("Protocol", "target"),
    ("SocketOptions", "target"),
];

/// Imports that break a layer on purpose, with the reason: (file, the module it imports, why).
/// Empty: a file that needs a name from a layer above it is in the wrong layer, or the name is.
const EXCEPTIONS: &[(&str, &str, &str)] = &[];

/// The most lines of code a source file has outside its unit tests.
const MAX_CODE_LINES: usize = 800;

fn layer_of(module: &[String]) -> Option<(&'static str, Layer)> {
    LAYERS
        .iter()
        .filter(|(path, _)| {
            let parts: Vec<&str> = path.split("::").collect();
            parts.len() <= module.len() && parts.iter().zip(module).all(|(a, b)| a == b)
        })
        .max_by_key(|(path, _)| path.split("::").count())
        .copied()
}

/// A source file: its path under `src/`, its module path and its code outside the unit tests
/// (comments and blank lines removed).
struct Source {
    shown: String,
    module: Vec<String>,
    code: Vec<String>,
    is_tests: bool,
}

fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_owned());
    }
    parts
}

/// The position of a line comment's `//` outside a string literal, if the line has one.
fn comment_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'\'' if !in_string => {
                // A char literal such as '"' or '\\'; a lifetime has no closing quote nearby.
                if bytes.get(i + 2) == Some(&b'\'') {
                    i += 2;
                } else if bytes.get(i + 1) == Some(&b'\\') && bytes.get(i + 3) == Some(&b'\'') {
                    i += 3;
                }
            }
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// When `lines[i]` opens a unit-test module of the file — `#[cfg(test)]`, any further
/// attributes, then `mod NAME;` or `mod NAME {` —, the index of the line after it: after the
/// first `}` at the start of a line (rustfmt closes a module of the file there).
fn test_module_end(lines: &[&str], i: usize) -> Option<usize> {
    if lines[i] != "#[cfg(test)]" {
        return None;
    }
    let mut j = i + 1;
    while j < lines.len() && lines[j].starts_with("#[") {
        j += 1;
    }
    let next = *lines.get(j)?;
    let next = next.strip_prefix("pub(crate) ").unwrap_or(next);
    let next = next.strip_prefix("pub ").unwrap_or(next);
    if !next.starts_with("mod ") {
        return None;
    }
    if next.ends_with(';') {
        return Some(j + 1);
    }
    if !next.ends_with('{') {
        return None;
    }
    let close = lines[j..].iter().position(|l| *l == "}");
    Some(close.map_or(lines.len(), |at| j + at + 1))
}

/// The code lines of `text` outside its unit-test modules: neither blank nor a comment (`//…`,
/// doc comments, `/* … */`), each without a trailing comment.
fn code_lines(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut code = Vec::new();
    let mut in_block = false;
    let mut i = 0;
    while i < lines.len() {
        if !in_block && let Some(end) = test_module_end(&lines, i) {
            i = end;
            continue;
        }
        let line = lines[i];
        i += 1;
        let trimmed = line.trim();
        if in_block {
            if trimmed.contains("*/") {
                in_block = false;
            }
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        if trimmed.starts_with("/*") {
            in_block = !trimmed.contains("*/");
            continue;
        }
        let kept = match comment_start(line) {
            Some(at) => &line[..at],
            None => line,
        };
        code.push(kept.to_owned());
    }
    code
}

fn sources() -> Vec<Source> {
    let src = common::source_dir().join("src");
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path: PathBuf = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(
        files.len() > 50,
        "found only {} source files under {}",
        files.len(),
        src.display()
    );
    files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(&src).expect("under src").to_path_buf();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            Source {
                shown: format!("src/{}", relative.display()),
                module: module_path(&relative),
                code: code_lines(&text),
                is_tests: relative.file_name().is_some_and(|n| n == "tests.rs"),
            }
        })
        .collect()
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn ident_at(chars: &[char], i: &mut usize) -> Option<String> {
    let start = *i;
    while *i < chars.len() && is_ident_char(chars[*i]) {
        *i += 1;
    }
    (*i > start).then(|| chars[start..*i].iter().collect())
}

fn skip_space(chars: &[char], i: &mut usize) {
    while *i < chars.len() && chars[*i].is_whitespace() {
        *i += 1;
    }
}

/// Reads a use tree (or a plain path) at `chars[i]`, after `prefix::`, into `out`: one path per
/// leaf, each as its segments (`crate::{a::b, c}` gives `crate::a::b` and `crate::c`).
fn use_tree(chars: &[char], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    skip_space(chars, i);
    match chars.get(*i) {
        Some('{') => {
            *i += 1;
            loop {
                skip_space(chars, i);
                match chars.get(*i) {
                    None => return,
                    Some('}') => {
                        *i += 1;
                        return;
                    }
                    Some(',') => *i += 1,
                    Some(_) => {
                        let before = *i;
                        use_tree(chars, i, prefix, out);
                        if *i == before {
                            *i += 1;
                        }
                    }
                }
            }
        }
        Some('*') => {
            *i += 1;
            out.push(prefix.to_vec());
        }
        _ => {
            let Some(segment) = ident_at(chars, i) else {
                out.push(prefix.to_vec());
                return;
            };
            let mut path = prefix.to_vec();
            path.push(segment);
            if chars.get(*i) == Some(&':') && chars.get(*i + 1) == Some(&':') {
                *i += 2;
                use_tree(chars, i, &path, out);
                return;
            }
            out.push(path);
            // `name as alias`: the alias names nothing of its own.
            let mut after = *i;
            skip_space(chars, &mut after);
            if chars[after..].starts_with(&['a', 's', ' ']) {
                after += 3;
                skip_space(chars, &mut after);
                let _alias = ident_at(chars, &mut after);
                *i = after;
            }
        }
    }
}

/// The child modules a file declares (`mod words;`, `pub mod store;`), outside its tests.
fn child_modules(code: &[String]) -> BTreeSet<String> {
    code.iter()
        .filter_map(|line| {
            let line = line.trim_start();
            // `#[cfg(…)] mod linux;` on one line: what follows the attribute.
            let line = match line.strip_prefix("#[") {
                Some(_) => line.rsplit_once(']')?.1,
                None => line,
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "mod")?;
            if words[..at].iter().any(|w| !w.starts_with("pub")) {
                return None;
            }
            let name = words.get(at + 1)?.trim_end_matches([';', '{']);
            (!name.is_empty() && name.chars().all(is_ident_char)).then(|| name.to_owned())
        })
        .collect()
}

/// Every module path `code` names, resolved from `module` (the file's own module path):
/// `crate::…`, `super::…`, `self::…` and paths through the file's child modules.
fn references(module: &[String], code: &[String]) -> BTreeSet<Vec<String>> {
    let children = child_modules(code);
    let text: Vec<char> = code.join("\n").chars().collect();
    let mut found = BTreeSet::new();
    let mut i = 0;
    while i < text.len() {
        let starts_word =
            i == 0 || !(is_ident_char(text[i - 1]) || matches!(text[i - 1], ':' | '$'));
        if !starts_word || !is_ident_char(text[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        let first = ident_at(&text, &mut j).expect("an identifier");
        let follows_path = text.get(j) == Some(&':') && text.get(j + 1) == Some(&':');
        let base: Option<Vec<String>> = match first.as_str() {
            "crate" => Some(Vec::new()),
            "super" => Some(module[..module.len().saturating_sub(1)].to_vec()),
            "self" => Some(module.to_vec()),
            name if children.contains(name) => {
                let mut own = module.to_vec();
                own.push(name.to_owned());
                Some(own)
            }
            _ => None,
        };
        match base {
            Some(base) if follows_path => {
                j += 2;
                let mut leaves = Vec::new();
                use_tree(&text, &mut j, &[], &mut leaves);
                for leaf in leaves {
                    found.insert(resolve(&base, &leaf));
                }
                i = j;
            }
            _ => i = j,
        }
    }
    found
}

/// `base` followed by `rest`, with `super`/`self` in `rest` applied and a root re-export
/// (`crate::Target`) taken to the module it comes from.
fn resolve(base: &[String], rest: &[String]) -> Vec<String> {
    let mut path = base.to_vec();
    for segment in rest {
        match segment.as_str() {
            "super" => {
                path.pop();
            }
            "self" => {}
            _ => path.push(segment.clone()),
        }
    }
    if let Some(first) = path.first_mut()
        && let Some((_, module)) = ROOT_ITEMS.iter().find(|(item, _)| item == first)
    {
        (*module).clone_into(first);
    }
    path
}

#[test]
fn no_source_file_has_more_than_800_lines_of_code() {
    let long: Vec<String> = sources()
        .iter()
        .filter(|s| !s.is_tests && s.code.len() > MAX_CODE_LINES)
        .map(|s| format!("  {}: {} lines of code", s.shown, s.code.len()))
        .collect();
    assert!(
        long.is_empty(),
        "over {MAX_CODE_LINES} lines of code outside the unit tests (split it along its seams):\n{}",
        long.join("\n")
    );
}

#[test]
fn each_module_imports_only_its_own_layer_and_the_ones_below() {
    let mut wrong = Vec::new();
    let mut used_exceptions = BTreeSet::new();
    for source in sources() {
        if source.is_tests || source.module.is_empty() {
            continue; // a module's unit tests; the crate's root and the binary's main
        }
        let Some((_, own)) = layer_of(&source.module) else {
            wrong.push(format!(
                "  {}: module {} is in no layer: place it in LAYERS (tests/layers.rs)",
                source.shown,
                source.module.join("::")
            ));
            continue;
        };
        for path in references(&source.module, &source.code) {
            let Some((placed, theirs)) = layer_of(&path) else {
                continue; // an item of the crate's root, or of the file's own module
            };
            let named = path.join("::");
            let excepted = EXCEPTIONS
                .iter()
                .position(|(file, module, _)| *file == source.shown && *module == placed);
            let excepted = excepted.map(|at| used_exceptions.insert(at)).is_some();
            let above = theirs > own;
            let other_front = own == Layer::Fronts
                && theirs == Layer::Fronts
                && source.module.first().map(String::as_str) != placed.split("::").next();
            if (above || other_front) && !excepted {
                wrong.push(format!(
                    "  {} ({own}) uses crate::{named} ({theirs})",
                    source.shown
                ));
            }
        }
    }
    for (at, (file, module, why)) in EXCEPTIONS.iter().enumerate() {
        if !used_exceptions.contains(&at) {
            wrong.push(format!(
                "  {file} no longer uses {module}: drop its exception ({why})"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers (docs/ARCHITECTURE.md, \"Layers\"; the table is LAYERS in \
         tests/layers.rs): move the name to its layer\n{}",
        wrong.join("\n")
    );
}

// The reader itself, on text whose answer is known: a reader that found nothing would pass
// the checks above on any code.

fn strings(paths: &BTreeSet<Vec<String>>) -> Vec<String> {
    paths.iter().map(|p| p.join("::")).collect()
}

fn lines(text: &str) -> Vec<String> {
    code_lines(text)
}

#[test]
fn the_reader_finds_use_trees_super_self_and_child_modules() {
    let code = lines(
        "mod words;\n\
         use crate::{owners::{Owner, SockState}, wording as w, Target};\n\
         use super::super::store::Seen;\n\
         fn f() { let _ = crate::render::sockets::table(x); words::line(); self::g(); }\n\
         // crate::gui::nothing in a comment\n\
         fn g() { let s = \"// not a comment\"; crate::scan::run(); } // crate::cli::not\n",
    );
    let module: Vec<String> = vec!["record".into(), "capture".into(), "tell".into()];
    assert_eq!(
        strings(&references(&module, &code)),
        [
            "owners::Owner",
            "owners::SockState",
            "record::capture::tell::g",
            "record::capture::tell::words::line",
            "record::store::Seen",
            "render::sockets::table",
            "scan::run",
            "target",
            "wording",
        ]
    );
}

#[test]
fn the_counter_counts_code_as_tokei_does_and_leaves_out_the_tests() {
    let text = "//! A module.\n\
                \n\
                /// A function.\n\
                fn a() {\n\
                    /* a block\n\
                       comment */\n\
                    let url = \"https://example.invalid\"; // trailing\n\
                }\n\
                #[cfg(test)]\n\
                #[expect(clippy::unwrap_used)]\n\
                mod tests {\n\
                    fn b() {}\n\
                }\n\
                fn c() {}\n\
                #[cfg(test)]\n\
                mod more_tests;\n\
                fn d() {}\n";
    let code = code_lines(text);
    assert_eq!(code.len(), 5, "{code:?}");
    assert_eq!(
        [code[3].as_str(), code[4].as_str()],
        ["fn c() {}", "fn d() {}"]
    );
    assert_eq!(code[1].trim(), "let url = \"https://example.invalid\";");
}

#[test]
fn the_table_places_by_the_longest_entry() {
    let path = |s: &str| s.split("::").map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        layer_of(&path("record::store::write")).map(|l| l.1),
        Some(Layer::Evidence)
    );
    assert_eq!(
        layer_of(&path("record::words::start_line")).map(|l| l.1),
        Some(Layer::Words)
    );
    assert_eq!(
        layer_of(&path("record::capture")).map(|l| l.1),
        Some(Layer::Features)
    );
    assert_eq!(layer_of(&path("recorder")), None);
}

//! The layers of tinyrt-rt as ARCHITECTURE.md draws them ("tinyrt-rt, bottom to top"): a
//! module uses only modules of its own row or the rows below, the modules never use each
//! other in a circle, and within a module directory (`vdso/`, `time/`, ...) the files do
//! not either (but process/, whose `Command` and its spawning are one concern in two
//! files). Read from the source: every `crate::NAME` and `super::NAME` path outside
//! comments and test modules.

mod common;
use common::root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One source file of tinyrt-rt: its top-level module (`vdso`), the file's module within
/// it (`dispatch`; empty for the module's own file), and its code without comments or
/// test modules.
struct Source {
    top: String,
    sub: String,
    /// How deep the file's module is: 1 for `time.rs` or `vdso/mod.rs`, 2 for
    /// `time/sleep.rs`, 3 for `elf/image/hash.rs`.
    depth: usize,
    code: String,
}

fn sources() -> Vec<Source> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<Source>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &rel, out);
                continue;
            }
            let Some(stem) = rel.strip_suffix(".rs") else {
                continue;
            };
            let parts: Vec<&str> = stem.split('/').collect();
            // The crate root declares and re-exports; files named tests.rs are unit tests.
            if stem == "lib" || parts.last() == Some(&"tests") {
                continue;
            }
            let sub = match parts.get(1) {
                Some(&"mod") | None => String::new(),
                Some(s) => s.to_string(),
            };
            let text = std::fs::read_to_string(e.path()).unwrap();
            let depth = parts.len() - usize::from(parts.last() == Some(&"mod"));
            out.push(Source {
                top: parts[0].to_string(),
                sub,
                depth,
                code: code_of(&text),
            });
        }
    }
    let mut out = Vec::new();
    walk(&root().join("rt/src"), "", &mut out);
    assert!(out.len() > 20, "too few sources read: {}", out.len());
    out
}

/// The code of a file: comments dropped, and everything from a `#[cfg(test)]` module on.
fn code_of(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut code = String::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]")
            && lines[i + 1..]
                .iter()
                .take(2)
                .any(|l| l.trim_start().starts_with("mod "))
        {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        code.push_str(line.split(" // ").next().unwrap());
        code.push('\n');
    }
    code
}

/// The first name after each `prefix` (`crate::`, `super::`), with each member of a
/// `prefix{a, b::c}` group.
fn names_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices(prefix) {
        // Not the tail of a longer path (`super::super::`, `a::crate::`).
        if code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &code[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let (mut depth, mut start) = (0, 0);
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.insert(ident(&group[start..j]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident(&group[start..j]));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out.remove("");
    out
}

/// A circle in `edges`, if there is one (depth-first search).
fn circle(edges: &Graph) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == n) {
            let mut c = path[at..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

/// Which names each name uses.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// Which module uses which: top-level modules, and the files within each module directory.
fn graphs(sources: &[Source]) -> (Graph, BTreeMap<String, Graph>) {
    let tops: BTreeSet<&str> = sources.iter().map(|s| s.top.as_str()).collect();
    let mut subs: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in sources.iter().filter(|s| !s.sub.is_empty()) {
        subs.entry(&s.top).or_default().insert(&s.sub);
    }
    let mut top_edges = Graph::new();
    let mut sub_edges: BTreeMap<String, Graph> = BTreeMap::new();
    for s in sources {
        let mut uses = names_after(&s.code, "crate::");
        // `super::super::NAME` two levels down is `crate::NAME`.
        let grandparent = names_after(&s.code, "super::super::");
        if s.depth == 2 {
            uses.extend(grandparent.iter().cloned());
        }
        let entry = top_edges.entry(s.top.clone()).or_default();
        entry.extend(
            uses.iter()
                .filter(|u| tops.contains(u.as_str()) && **u != s.top)
                .cloned(),
        );
        if s.sub.is_empty() {
            continue;
        }
        // A file's siblings: `super::NAME` and `crate::TOP::NAME`.
        let siblings = &subs[s.top.as_str()];
        let mut used = names_after(&s.code, "super::");
        used.extend(names_after(&s.code, &format!("crate::{}::", s.top)));
        if s.depth == 3 {
            used.extend(grandparent);
        }
        let into = sub_edges
            .entry(s.top.clone())
            .or_default()
            .entry(s.sub.clone())
            .or_default();
        into.extend(
            used.into_iter()
                .filter(|u| siblings.contains(u.as_str()) && *u != s.sub),
        );
    }
    (top_edges, sub_edges)
}

/// The rows of ARCHITECTURE.md's layer table, bottom first: the modules each names.
fn rows() -> Vec<BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let table = text
        .split("## tinyrt-rt, bottom to top")
        .nth(1)
        .expect("the layer table");
    let table = table.split("\n## ").next().unwrap();
    let mut rows = Vec::new();
    for line in table.lines().filter(|l| l.starts_with('|')) {
        let files = line.split('|').nth(2).unwrap_or("");
        // Each file or directory named in backquotes (`rt/src/sys.rs`, `io.rs`,
        // `auxv/library.rs`, `rt/src/vdso/`): the module is its first component.
        let mods: BTreeSet<String> = files
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|t| t.ends_with(".rs") || t.ends_with('/'))
            .map(|t| t.trim_start_matches("rt/src/"))
            .map(|t| {
                t.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()
            })
            .collect();
        if !mods.is_empty() {
            rows.push(mods);
        }
    }
    rows
}

#[test]
fn modules_use_only_their_layer_and_the_ones_below() {
    let sources = sources();
    let (tops, _) = graphs(&sources);
    let rows = rows();
    let row_of = |m: &str| rows.iter().position(|r| r.contains(m));
    let mut wrong = Vec::new();
    for (from, uses) in &tops {
        let Some(r) = row_of(from) else {
            wrong.push(format!(
                "rt/src/{from} is in no row of ARCHITECTURE.md's layer table"
            ));
            continue;
        };
        for to in uses {
            match row_of(to) {
                Some(t) if t <= r => {}
                _ => wrong.push(format!("{from} (row {r}) uses {to} (row {:?})", row_of(to))),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "layering broken:\n{}\nrows: {rows:?}",
        wrong.join("\n")
    );
}

#[test]
fn no_circle_between_modules() {
    let (tops, subs) = graphs(&sources());
    assert!(
        tops.get("process").is_some_and(|u| u.contains("sys")),
        "{tops:?}"
    );
    let mut circles = Vec::new();
    if let Some(c) = circle(&tops) {
        circles.push(format!("modules: {}", c.join(" -> ")));
    }
    for (top, edges) in &subs {
        // process/'s command.rs and spawn.rs are one concern split for length: `Command`
        // (command.rs) spawns through spawn.rs, which reads the `Command` it is given.
        if top == "process" {
            continue;
        }
        if let Some(c) = circle(edges) {
            circles.push(format!("files of {top}/: {}", c.join(" -> ")));
        }
    }
    assert!(
        circles.is_empty(),
        "in a circle:\n{}\n{tops:#?}\n{subs:#?}",
        circles.join("\n")
    );
}

/// The scanner itself, on what it must find and skip.
#[test]
fn the_scanner_reads_paths_groups_and_skips_comments() {
    let code = code_of(
        "use crate::{a, b::c, d::{e, f}};\n// crate::g\nlet x = crate::h::i(); // crate::j\n\
         super::super::k; crate::l::crate::m;\n#[cfg(test)]\nmod tests {\n use crate::n;\n}\n",
    );
    let names: Vec<String> = names_after(&code, "crate::").into_iter().collect();
    assert_eq!(names, ["a", "b", "d", "h", "l"]);
    let grand: Vec<String> = names_after(&code, "super::super::").into_iter().collect();
    assert_eq!(grand, ["k"]);
    let mut edges = BTreeMap::new();
    edges.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    edges.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    assert_eq!(circle(&edges), None);
    edges.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(circle(&edges).unwrap(), ["a", "b", "c", "a"]);
}

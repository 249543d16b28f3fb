//! The house rule (docs/architecture.md): each layer imports only the layers
//! below it, and no source files import each other, directly or around a
//! circle.
//!
//! Every path a file names into the crate counts: `crate::…`, `super::…`,
//! `self::…` and a `use` of a child module, in `use` lines and inline,
//! outside comments, literals and `#[cfg(test)]` items. A path through a
//! folder's re-export (`pub use x::Item` in its `mod.rs`) counts as a path
//! to the file that defines the item, so a door cannot hide a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers from the ground up; a file belongs to the first rule whose
/// prefix its path (relative to `src/`) starts with.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "ground",
        &[
            "text.rs", "paths.rs", "retry.rs", "files.rs", "net.rs", "clock.rs",
        ],
    ),
    ("rules", &["domain/"]),
    (
        "contract",
        &[
            "backend/mod.rs",
            "backend/types.rs",
            "backend/standings.rs",
            "backend/queue.rs",
            "backend/events.rs",
            "backend/wire.rs",
        ],
    ),
    (
        "parts",
        &[
            "db/",
            "backend/local/",
            "backend/http.rs",
            "backend/http/",
            "backend/cache/",
            "backend/sync/",
            "backend/witness.rs",
            "auth/",
            "evidence/",
            "report/",
        ],
    ),
    ("services", &["notify/", "auditor/", "seed/"]),
    ("settings", &["config.rs"]),
    ("faces", &["tui/", "server/"]),
    ("entry", &["cli/", "lib.rs", "main.rs"]),
];

fn layer_of(file: &str) -> Option<(usize, &'static str)> {
    LAYERS
        .iter()
        .enumerate()
        .find_map(|(index, (name, prefixes))| {
            prefixes
                .iter()
                .any(|prefix| {
                    file == *prefix || (prefix.ends_with('/') && file.starts_with(prefix))
                })
                .then_some((index, *name))
        })
}

/// A source file with its comments, literals and test-only items removed.
struct SourceFile {
    module: Vec<String>,
    code: String,
}

/// Blanks comments, string and char literals, keeping everything else.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let at = |i: usize, pattern: &str| {
        pattern
            .chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        if at(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if at(i, "/*") {
            let mut depth = 0;
            while i < chars.len() {
                if at(i, "/*") {
                    depth += 1;
                    i += 2;
                } else if at(i, "*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if chars[i] == 'r'
            && (at(i + 1, "\"") || at(i + 1, "#"))
            && !is_ident(prev(&chars, i))
        {
            // A raw string: r"…", r#"…"#, r##"…"##.
            let mut hashes = 0;
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            let close: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            j += 1;
            while j < chars.len() && !at(j, &close) {
                j += 1;
            }
            i = j + close.len();
            out.push_str("\"\"");
        } else if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if chars[i] == '\'' && is_char_literal(&chars, i) {
            i += 1;
            if chars.get(i) == Some(&'\\') {
                i += 1;
            }
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn prev(chars: &[char], i: usize) -> char {
    if i == 0 { ' ' } else { chars[i - 1] }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `'a'` and `'\n'` are literals; `'a` (a lifetime) is not.
fn is_char_literal(chars: &[char], i: usize) -> bool {
    match chars.get(i + 1) {
        Some('\\') => true,
        Some(_) => chars.get(i + 2) == Some(&'\''),
        None => false,
    }
}

/// Removes each item marked `#[cfg(test)]`: up to its `;`, or through the
/// block its first `{` opens.
fn without_test_items(code: &str) -> String {
    let mut code = code.to_string();
    while let Some(start) = code.find("#[cfg(test)]") {
        let rest = &code[start..];
        let semicolon = rest.find(';');
        let brace = rest.find('{');
        let end = match (semicolon, brace) {
            (Some(s), Some(b)) if s < b => start + s + 1,
            (Some(s), None) => start + s + 1,
            (_, Some(b)) => {
                let mut depth = 0;
                let mut end = code.len();
                for (k, c) in code[start + b..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = start + b + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (None, None) => code.len(),
        };
        code.replace_range(start..end, " ");
    }
    code
}

/// The files a `#[cfg(test)] mod name;` brings in, which are test code.
fn test_module_files(file: &str, raw: &str) -> Vec<String> {
    let folder = module_folder(file);
    let mut found = Vec::new();
    let mut rest = raw;
    while let Some(at) = rest.find("#[cfg(test)]") {
        let after = rest[at + "#[cfg(test)]".len()..].trim_start();
        if let Some(name) = after
            .strip_prefix("mod ")
            .and_then(|declaration| declaration.split(';').next())
            .filter(|name| !name.contains('{'))
        {
            let name = name.trim();
            found.push(format!("{folder}{name}.rs"));
            found.push(format!("{folder}{name}/mod.rs"));
        }
        rest = &rest[at + 1..];
    }
    found
}

/// Where a file's child modules live: `a/mod.rs` and `a.rs` both keep theirs
/// under `a/`; `lib.rs` under the root.
fn module_folder(file: &str) -> String {
    if file == "lib.rs" {
        String::new()
    } else if let Some(folder) = file.strip_suffix("mod.rs") {
        folder.to_string()
    } else {
        format!("{}/", file.trim_end_matches(".rs"))
    }
}

fn module_path(file: &str) -> Vec<String> {
    module_folder(file)
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(String::from)
        .collect()
}

fn source_files(root: &Path) -> BTreeMap<String, SourceFile> {
    let mut raw = BTreeMap::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("src is readable") {
            let path = entry.expect("src entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path.strip_prefix(root).expect("under src");
                let name = relative.to_string_lossy().replace('\\', "/");
                raw.insert(
                    name,
                    std::fs::read_to_string(&path).expect("readable source"),
                );
            }
        }
    }
    let tests: BTreeSet<String> = raw
        .iter()
        .flat_map(|(file, text)| test_module_files(file, &code_only(text)))
        .collect();
    raw.into_iter()
        .filter(|(file, _)| file != "main.rs" && !tests.contains(file))
        .map(|(file, text)| {
            let code = without_test_items(&code_only(&text));
            let module = module_path(&file);
            (file, SourceFile { module, code })
        })
        .collect()
}

/// One path of a `use` tree, and the name it is imported as.
#[derive(Debug, Clone)]
struct UsePath {
    segments: Vec<String>,
    glob: bool,
}

/// Expands `a::{b, c::{d, e as f}, g::*}` into its paths.
fn use_paths(tree: &str, prefix: &[String], out: &mut Vec<UsePath>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let base = tree[..open].trim().trim_end_matches("::");
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut base_path = prefix.to_vec();
        base_path.extend(split_path(base));
        let mut depth = 0;
        let mut start = 0;
        for (k, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    use_paths(&inner[start..k], &base_path, out);
                    start = k + 1;
                }
                _ => {}
            }
        }
        use_paths(&inner[start..], &base_path, out);
        return;
    }
    let without_alias = tree.split(" as ").next().unwrap_or(tree).trim();
    if without_alias.is_empty() {
        return;
    }
    let glob = without_alias.ends_with('*');
    let mut segments = prefix.to_vec();
    segments.extend(split_path(without_alias.trim_end_matches('*')));
    if segments.last().is_some_and(|last| last == "self") {
        segments.pop();
    }
    out.push(UsePath { segments, glob });
}

fn split_path(text: &str) -> Vec<String> {
    text.split("::")
        .map(str::trim)
        .filter(|segment| !segment.is_empty())
        .map(String::from)
        .collect()
}

/// The `use` statements of a code text: (is it `pub`, its tree), and the
/// code with them removed.
fn use_statements(code: &str) -> (Vec<(bool, String)>, String) {
    let mut found = Vec::new();
    let mut rest = String::with_capacity(code.len());
    let mut i = 0;
    let bytes = code.as_bytes();
    while i < code.len() {
        let word_start = i == 0 || !is_ident(bytes[i - 1] as char);
        if word_start && code[i..].starts_with("use ") {
            let end = code[i..].find(';').map_or(code.len(), |k| i + k);
            let before = rest.trim_end();
            let public =
                before.ends_with("pub") || before.ends_with(')') && before.contains("pub(");
            found.push((public, code[i + 4..end].to_string()));
            rest.push(' ');
            i = end + 1;
        } else {
            let c = code[i..].chars().next().expect("in bounds");
            rest.push(c);
            i += c.len_utf8();
        }
    }
    (found, rest)
}

/// Paths written inline: `crate::a::b`, `super::a`, `self::a`.
fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for root in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(k) = code[from..].find(root) {
            let at = from + k;
            from = at + root.len();
            if at > 0 && (is_ident(code.as_bytes()[at - 1] as char) || code[..at].ends_with("::")) {
                continue;
            }
            let mut end = at;
            let bytes = code.as_bytes();
            while end < code.len()
                && (is_ident(bytes[end] as char) || code[end..].starts_with("::"))
            {
                end += if code[end..].starts_with("::") { 2 } else { 1 };
            }
            found.push(split_path(&code[at..end]));
        }
    }
    found
}

struct Crate {
    files: BTreeMap<String, SourceFile>,
}

impl Crate {
    /// The file of a module path, if the path names a module.
    fn module_file(&self, module: &[String]) -> Option<String> {
        if module.is_empty() {
            return Some("lib.rs".into());
        }
        let joined = module.join("/");
        [format!("{joined}.rs"), format!("{joined}/mod.rs")]
            .into_iter()
            .find(|candidate| self.files.contains_key(candidate))
    }

    /// A path as written in `file`, made absolute; `None` for other crates.
    fn absolute(&self, file: &str, segments: &[String]) -> Option<Vec<String>> {
        let module = &self.files[file].module;
        let first = segments.first()?;
        match first.as_str() {
            "crate" => Some(segments[1..].to_vec()),
            "self" => Some(module.iter().chain(&segments[1..]).cloned().collect()),
            "super" => {
                let mut base = module.clone();
                let mut rest = segments;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                Some(base.into_iter().chain(rest.iter().cloned()).collect())
            }
            child => {
                let mut candidate = module.clone();
                candidate.push(child.to_string());
                self.module_file(&candidate)
                    .map(|_| module.iter().chain(segments).cloned().collect())
            }
        }
    }

    /// What a file re-exports: names to absolute paths, and glob targets.
    fn reexports(&self, file: &str) -> (BTreeMap<String, Vec<String>>, Vec<Vec<String>>) {
        let (statements, _) = use_statements(&self.files[file].code);
        let mut named = BTreeMap::new();
        let mut globs = Vec::new();
        for (_, tree) in statements.iter().filter(|(public, _)| *public) {
            let mut paths = Vec::new();
            let aliases = alias_names(tree);
            use_paths(tree, &[], &mut paths);
            for (path, alias) in paths.into_iter().zip(aliases) {
                let Some(absolute) = self.absolute(file, &path.segments) else {
                    continue;
                };
                if path.glob {
                    globs.push(absolute);
                } else if let Some(last) = absolute.last() {
                    named.insert(alias.unwrap_or_else(|| last.clone()), absolute);
                }
            }
        }
        (named, globs)
    }

    fn defines(&self, file: &str, name: &str) -> bool {
        let code = &self.files[file].code;
        let words: Vec<&str> = code
            .split(|c: char| !is_ident(c) && c != '!')
            .filter(|w| !w.is_empty())
            .collect();
        words.windows(2).any(|pair| {
            pair[1] == name
                && matches!(
                    pair[0],
                    "fn" | "struct"
                        | "enum"
                        | "trait"
                        | "type"
                        | "const"
                        | "static"
                        | "mod"
                        | "union"
                        | "macro_rules!"
                )
        })
    }

    /// The file that holds what an absolute path names.
    fn resolve(&self, path: &[String], depth: usize) -> Option<String> {
        if depth > 16 {
            return None;
        }
        let mut module = Vec::new();
        let mut file = self.module_file(&module)?;
        for (k, segment) in path.iter().enumerate() {
            let mut child = module.clone();
            child.push(segment.clone());
            if let Some(child_file) = self.module_file(&child) {
                module = child;
                file = child_file;
                continue;
            }
            let (named, globs) = self.reexports(&file);
            if let Some(target) = named.get(segment) {
                let mut next = target.clone();
                next.extend(path[k + 1..].iter().cloned());
                return self.resolve(&next, depth + 1).or(Some(file));
            }
            if !self.defines(&file, segment) {
                for glob in globs {
                    let mut next = glob.clone();
                    next.extend(path[k..].iter().cloned());
                    if let Some(found) = self.resolve(&next, depth + 1)
                        && (Some(&found) != self.module_file(&glob).as_ref()
                            || self.defines(&found, segment))
                    {
                        return Some(found);
                    }
                }
            }
            return Some(file);
        }
        Some(file)
    }

    /// Paths written inline from a child module: `child::item` in a file
    /// whose module has a child of that name.
    fn child_paths(&self, file: &str, code: &str) -> Vec<Vec<String>> {
        let module = &self.files[file].module;
        let mut found = Vec::new();
        let bytes = code.as_bytes();
        let mut start = 0;
        while start < code.len() {
            let c = bytes[start] as char;
            if !(c.is_alphabetic() || c == '_')
                || (start > 0
                    && (is_ident(bytes[start - 1] as char) || code[..start].ends_with("::")))
            {
                start += 1;
                continue;
            }
            let mut end = start;
            while end < code.len() && is_ident(bytes[end] as char) {
                end += 1;
            }
            let word = &code[start..end];
            if code[end..].starts_with("::") && !matches!(word, "crate" | "super" | "self" | "Self")
            {
                let mut child = module.clone();
                child.push(word.to_string());
                if self.module_file(&child).is_some() {
                    let mut path_end = end;
                    while path_end < code.len()
                        && (is_ident(bytes[path_end] as char) || code[path_end..].starts_with("::"))
                    {
                        path_end += if code[path_end..].starts_with("::") {
                            2
                        } else {
                            1
                        };
                    }
                    found.push(split_path(&code[start..path_end]));
                }
            }
            start = end.max(start + 1);
        }
        found
    }

    /// Every file each file imports from.
    fn imports(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (file, source) in &self.files {
            let (statements, rest) = use_statements(&source.code);
            let mut written: Vec<Vec<String>> = Vec::new();
            for (_, tree) in &statements {
                let mut paths = Vec::new();
                use_paths(tree, &[], &mut paths);
                written.extend(paths.into_iter().map(|path| path.segments));
            }
            written.extend(inline_paths(&rest));
            written.extend(self.child_paths(file, &rest));
            let edges = graph.entry(file.clone()).or_default();
            for segments in written {
                let Some(absolute) = self.absolute(file, &segments) else {
                    continue;
                };
                if let Some(target) = self.resolve(&absolute, 0)
                    && &target != file
                {
                    edges.entry(target).or_insert_with(|| segments.join("::"));
                }
            }
        }
        graph
    }
}

/// For each path of a `use` tree, in order, the name it is imported as
/// when renamed (`a::b as c`). Leaves are the pieces between commas and
/// braces that do not end a path prefix, in the order `use_paths` yields.
fn alias_names(tree: &str) -> Vec<Option<String>> {
    tree.split(['{', '}', ','])
        .map(str::trim)
        .filter(|piece| !piece.is_empty() && !piece.ends_with("::"))
        .map(|leaf| {
            leaf.split(" as ")
                .nth(1)
                .map(|alias| alias.trim().to_string())
        })
        .collect()
}

/// Strongly connected groups of more than one file (Tarjan).
fn circles(graph: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeMap<String, String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(state: &mut State<'g>, node: &'g str) {
        let next = state.index.len();
        state.index.insert(node, next);
        state.low.insert(node, next);
        state.stack.push(node);
        state.on_stack.insert(node);
        if let Some(edges) = state.graph.get(node) {
            for target in edges.keys() {
                let target = target.as_str();
                if !state.index.contains_key(target) {
                    visit(state, target);
                    let low = state.low[node].min(state.low[target]);
                    state.low.insert(node, low);
                } else if state.on_stack.contains(target) {
                    let low = state.low[node].min(state.index[target]);
                    state.low.insert(node, low);
                }
            }
        }
        if state.low[node] == state.index[node] {
            let mut group = Vec::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                group.push(member.to_string());
                if member == node {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                state.found.push(group);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.found
}

fn the_crate() -> Crate {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    Crate {
        files: source_files(&root),
    }
}

#[test]
fn every_source_file_has_a_layer() {
    let krate = the_crate();
    let unplaced: Vec<&String> = krate
        .files
        .keys()
        .filter(|file| layer_of(file).is_none())
        .collect();
    assert!(krate.files.len() > 100, "the walk found the sources");
    assert!(
        unplaced.is_empty(),
        "files without a layer (add them to LAYERS): {unplaced:?}"
    );
}

#[test]
fn nothing_imports_upward() {
    let krate = the_crate();
    let graph = krate.imports();
    let mut upward = Vec::new();
    let mut checked = 0;
    for (file, edges) in &graph {
        let Some((from, from_name)) = layer_of(file) else {
            continue;
        };
        for (target, written) in edges {
            checked += 1;
            let Some((to, to_name)) = layer_of(target) else {
                continue;
            };
            if to > from {
                upward.push(format!(
                    "src/{file} ({from_name}) imports src/{target} ({to_name}) as {written}"
                ));
            }
        }
    }
    assert!(checked > 500, "the imports were read ({checked})");
    assert!(
        upward.is_empty(),
        "imports against the layer order:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_files_import_each_other() {
    let graph = the_crate().imports();
    let found = circles(&graph);
    let described: Vec<String> = found
        .iter()
        .map(|group| {
            let members: BTreeSet<&String> = group.iter().collect();
            let edges: Vec<String> = group
                .iter()
                .flat_map(|file| {
                    graph[file]
                        .iter()
                        .filter(|(target, _)| members.contains(target))
                        .map(move |(target, written)| {
                            format!("  src/{file} -> src/{target} ({written})")
                        })
                })
                .collect();
            format!("a circle of {} files:\n{}", group.len(), edges.join("\n"))
        })
        .collect();
    assert!(described.is_empty(), "{}", described.join("\n"));
}

/// The checker itself: it finds a circle and an upward import it is shown.
#[test]
fn the_checker_sees_what_it_checks() {
    let file = |module: &[&str], code: &str| SourceFile {
        module: module.iter().map(|s| s.to_string()).collect(),
        code: without_test_items(&code_only(code)),
    };
    let mut files = BTreeMap::new();
    files.insert(
        "lib.rs".to_string(),
        file(&[], "pub mod domain; pub mod tui;"),
    );
    files.insert(
        "domain/mod.rs".to_string(),
        file(&["domain"], "pub mod a; pub mod b; pub use a::Alpha;"),
    );
    files.insert(
        "domain/a.rs".to_string(),
        file(
            &["domain", "a"],
            "use super::b::Beta; pub struct Alpha; // crate::tui::Hidden",
        ),
    );
    files.insert(
        "domain/b.rs".to_string(),
        file(
            &["domain", "b"],
            "pub struct Beta; fn f() -> crate::domain::Alpha { todo() }\n#[cfg(test)] mod tests { use crate::tui::View; }",
        ),
    );
    files.insert(
        "tui/mod.rs".to_string(),
        file(
            &["tui"],
            "pub struct View; use crate::domain::{self, a::Alpha};",
        ),
    );
    let krate = Crate { files };
    let graph = krate.imports();
    assert!(
        graph["domain/b.rs"].contains_key("domain/a.rs"),
        "through the re-export: {graph:?}"
    );
    assert!(
        graph["domain/a.rs"].contains_key("domain/b.rs"),
        "{graph:?}"
    );
    assert!(
        !graph["domain/b.rs"].contains_key("tui/mod.rs"),
        "test code is not counted"
    );
    assert!(
        !graph["domain/a.rs"].contains_key("tui/mod.rs"),
        "comments are not counted"
    );
    assert!(graph["tui/mod.rs"].contains_key("domain/a.rs"));
    assert_eq!(
        circles(&graph),
        vec![vec!["domain/a.rs".to_string(), "domain/b.rs".to_string()]]
    );
    assert_eq!(layer_of("domain/a.rs").map(|l| l.0), Some(1));
    assert!(layer_of("tui/mod.rs") > layer_of("domain/a.rs"));
}

/// Files stay a size a newcomer can read: split by job past 800 lines.
#[test]
fn no_source_file_is_over_800_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut long = Vec::new();
    let mut folders = vec![root.clone()];
    let mut seen = 0;
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("src is readable") {
            let path = entry.expect("src entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                seen += 1;
                let lines = std::fs::read_to_string(&path)
                    .expect("readable source")
                    .lines()
                    .count();
                if lines > 800 {
                    long.push(format!("{} ({lines} lines)", path.display()));
                }
            }
        }
    }
    assert!(seen > 100, "the walk found the sources");
    assert!(long.is_empty(), "files over 800 lines: {long:?}");
}

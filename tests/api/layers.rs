//! The layers stay as drawn (README, Layout): each module of `src/` may name
//! only the layers below it,
//!
//!   leaves (secret, access, next_path, clock, logging, metrics) → config → store
//!   → error → domain (auth → library, oidc) → services → web → cli,
//!
//! the web layer's two children (`web::api`, `web::pages`) never name each
//! other and what they share (`web/*.rs`) names neither, the web calls no
//! store method (it reads through the domain services), no layer below the
//! web speaks axum (oidc only borrows the `http` types for its client), and
//! the files of one module import each other without a cycle. The check
//! reads the source: a `crate::` path names the module it starts with.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module's layer; a module may name only lower layers.
/// `library` and `oidc` share one, so they cannot name each other.
const LAYERS: &[(&str, u8)] = &[
    ("secret", 0),
    ("access", 0),
    ("next_path", 0),
    ("clock", 0),
    ("logging", 0),
    ("metrics", 0),
    ("config", 1),
    ("store", 2),
    ("error", 3),
    ("auth", 4),
    ("library", 5),
    ("oidc", 5),
    ("services", 6),
    ("web", 7),
    // The crate root's re-exports of the web layer.
    ("app", 7),
    ("AppState", 7),
    ("cli", 8),
];
const WEB: u8 = 7;

/// Modules whose files may still import each other in a cycle: none.
const FILE_CYCLES_ALLOWED: &[&str] = &[];

/// One source file: its module path (`["web", "api", "users"]`) and its
/// text without comments.
struct Source {
    module: Vec<String>,
    code: String,
}

#[test]
fn every_module_names_only_the_layers_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let problems = check(&read_sources(&root));
    assert!(problems.is_empty(), "layering broken:\n{}", problems.join("\n"));
}

#[test]
fn the_check_sees_each_kind_of_violation() {
    let source = |path: &str, code: &str| Source {
        module: path.split('/').map(str::to_string).collect(),
        code: without_comments(code),
    };
    let broken = [
        source("store/users", "use crate::auth::Role;"),
        source("auth/sessions", "use crate::{error::AppError, web::state::AppState};"),
        source("library/mod", "fn f() { crate::oidc::sign_out(); }"),
        source("auth/login", "use axum::http::HeaderMap;"),
        source("web/pages/sso", "use crate::web::api::backchannel;"),
        source("web/csrf", "use crate::web::pages::PageError;"),
        source(
            "web/cookies",
            "use crate::web::{state::AppState, api::{users, VERSION}};",
        ),
        source("oidc/flow", "use super::identity::resolve;"),
        source("oidc/identity", "use super::flow::Verified;"),
        source("shiny", "use crate::store::Store;"),
        source("web/api/users", "let users = state.store.list_users().await?;"),
    ];
    let problems = check(&broken);
    for expected in [
        "store/users names auth",
        "auth/sessions names web",
        "library/mod names oidc",
        "auth/login names axum",
        "web/pages/sso names web::api",
        "web/csrf names web::pages",
        "web/cookies names web::api",
        "import cycle in oidc",
        "shiny has no layer",
        "web/api/users calls the store",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(expected)),
            "{expected:?} not in {problems:#?}"
        );
    }
    let fine = [
        source("auth/sessions", "use crate::store::Store; // crate::web::state"),
        source(
            "web/pages/sso",
            "use crate::oidc::Callback;\nuse crate::web::error::PageError;",
        ),
        source("oidc/provider_http", "let r = axum::http::Request::builder();"),
        source("oidc/flow", "use super::identity::resolve;"),
        source("oidc/identity", "use super::verify::Verified;"),
    ];
    assert_eq!(check(&fine), Vec::<String>::new());
}

fn check(sources: &[Source]) -> Vec<String> {
    let layers: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut problems = Vec::new();
    for source in sources {
        let name = source.module.join("/");
        let Some(&own) = layers.get(source.module[0].as_str()) else {
            problems.push(format!("{name} has no layer: add its module to LAYERS"));
            continue;
        };
        for path in crate_paths(&source.code) {
            let top = path[0].as_str();
            match layers.get(top) {
                _ if top == source.module[0] => {}
                Some(&layer) if layer < own => {}
                _ => problems.push(format!("{name} names {top} (crate::{})", path.join("::"))),
            }
        }
        if own < WEB && names_axum(&source.module, &source.code) {
            problems.push(format!("{name} names axum: HTTP types belong to the web layer"));
        }
        problems.extend(web_children(source, &name));
    }
    problems.extend(file_cycles(sources));
    problems
}

/// `web::api` and `web::pages` never name each other; the shared web files
/// (everything in `web/` but the router) name neither.
fn web_children(source: &Source, name: &str) -> Vec<String> {
    let module: Vec<&str> = source.module.iter().map(String::as_str).collect();
    let forbidden: &[&str] = match module.as_slice() {
        ["web", "api", ..] => &["pages"],
        ["web", "pages", ..] => &["api"],
        ["web", "mod"] => &[],
        ["web", _] => &["api", "pages"],
        _ => &[],
    };
    let mut problems: Vec<String> = crate_paths(&source.code)
        .into_iter()
        .filter(|path| path.len() > 1 && path[0] == "web" && forbidden.contains(&path[1].as_str()))
        .map(|path| format!("{name} names web::{}", path[1]))
        .collect();
    // Requests reach the database through the domain services only.
    if module.first() == Some(&"web") && source.code.contains(".store.") {
        problems.push(format!("{name} calls the store: go through auth, oidc or library"));
    }
    problems
}

fn names_axum(module: &[String], code: &str) -> bool {
    // oidc's client to the provider speaks the `http` crate's types.
    let client_types_only = module[0] == "oidc";
    code.match_indices("axum::").any(|(at, _)| {
        let rest = &code[at + "axum::".len()..];
        !(client_types_only && rest.starts_with("http"))
    }) || code.contains("tower_http::")
}

/// Cycles among the files of one module (`super::x` and `crate::m::x`).
fn file_cycles(sources: &[Source]) -> Vec<String> {
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let files: BTreeSet<&Vec<String>> = sources.iter().map(|s| &s.module).collect();
    for source in sources {
        let Some((_, parent)) = source.module.split_last() else {
            continue;
        };
        let mut named: Vec<Vec<String>> = crate_paths(&source.code);
        for path in super_paths(&source.code) {
            named.push(parent.iter().cloned().chain(path).collect());
        }
        for path in named {
            let Some(sibling) = path.get(parent.len()) else {
                continue;
            };
            let target: Vec<String> = parent.iter().chain([sibling]).cloned().collect();
            let is_sibling = path.starts_with(parent) && target != source.module && sibling != "mod";
            if is_sibling && files.contains(&target) {
                edges.entry(source.module.clone()).or_default().insert(target);
            }
        }
    }
    let mut problems = Vec::new();
    for start in edges.keys() {
        if FILE_CYCLES_ALLOWED.contains(&start[0].as_str()) {
            continue;
        }
        if reaches(&edges, start, start, &mut BTreeSet::new()) {
            problems.push(format!("import cycle in {} through {}", start[0], start.join("/")));
        }
    }
    problems
}

fn reaches(
    edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
    from: &Vec<String>,
    goal: &Vec<String>,
    seen: &mut BTreeSet<Vec<String>>,
) -> bool {
    edges
        .get(from)
        .into_iter()
        .flatten()
        .any(|next| next == goal || (seen.insert(next.clone()) && reaches(edges, next, goal, seen)))
}

/// Every path after `crate::` (not `$crate::`), with `crate::{a::x, b}`
/// groups split into one path each.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    prefixed_paths(code, "crate::")
}

fn super_paths(code: &str) -> Vec<Vec<String>> {
    prefixed_paths(code, "super::")
}

fn prefixed_paths(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let before = code[..at].chars().last();
        if before.is_some_and(|c| c == '$' || c == ':' || c.is_alphanumeric() || c == '_') {
            continue;
        }
        paths.extend(paths_of(&code[at + prefix.len()..]));
    }
    paths.retain(|path| !path.is_empty());
    paths
}

/// The paths `text` starts with: one (`a::b::c`), or one per item of a
/// `{...}` group wherever it opens (`a::{b, c::{d, e}}`).
fn paths_of(text: &str) -> Vec<Vec<String>> {
    let (path, rest) = path_of(text);
    match rest.strip_prefix('{') {
        Some(group) => split_group(group)
            .iter()
            .flat_map(|item| paths_of(item))
            .map(|tail| path.iter().cloned().chain(tail).collect())
            .collect(),
        None => vec![path],
    }
}

/// The items of a `{...}` group, up to its closing brace.
fn split_group(group: &str) -> Vec<String> {
    let (mut depth, mut item, mut items) = (0, String::new(), Vec::new());
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut item));
                continue;
            }
            _ => {}
        }
        item.push(c);
    }
    items.push(item);
    items
}

/// The leading `a::b::c` of `text` (segments of identifier characters),
/// and what follows its last `::` (a group's `{`) or its last segment.
fn path_of(text: &str) -> (Vec<String>, &str) {
    let mut path = Vec::new();
    let mut rest = text.trim_start();
    loop {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        path.push(rest[..end].to_string());
        match rest[end..].strip_prefix("::") {
            Some(next) => rest = next,
            None => {
                rest = &rest[end..];
                break;
            }
        }
    }
    (path, rest)
}

fn read_sources(root: &Path) -> Vec<Source> {
    let mut files = Vec::new();
    collect(root, &mut files);
    files
        .into_iter()
        .filter_map(|file| {
            let relative = file.strip_prefix(root).ok()?.with_extension("");
            let module: Vec<String> = relative.iter().map(|s| s.to_string_lossy().into_owned()).collect();
            // The crate root declares every module; main only calls the CLI.
            if matches!(module.as_slice(), [only] if only == "lib" || only == "main") {
                return None;
            }
            let text = std::fs::read_to_string(&file).expect("a source file");
            Some(Source {
                module,
                code: without_comments(&text),
            })
        })
        .collect()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The text with `//` comments (doc comments included) removed, so prose
/// may mention any module.
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

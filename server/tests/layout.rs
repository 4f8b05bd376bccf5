//! The layout rules the README states, checked on the sources: every SQL statement of
//! the server is in `src/db/`, and no source file of the server, the app or the sandbox
//! grows past the size one reader can hold (~400 lines; 430 allows a doc comment or two).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a readable directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the server crate sits in the workspace").to_path_buf()
}

#[test]
fn sql_is_only_in_the_storage_layer() {
    let src = workspace().join("server/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let db = src.join("db");
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with(&db) && f.as_path() != src.join("db.rs"))
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            ["sqlx::query", "query_as(", "query_scalar("].iter().any(|needle| text.contains(needle))
        })
        .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert!(files.len() > 50, "the sources were found ({} files)", files.len());
    assert!(offenders.is_empty(), "SQL outside server/src/db/: {offenders:?}");
}

#[test]
fn no_source_file_is_over_about_400_lines() {
    let mut files = Vec::new();
    for dir in ["server/src", "app/src", "sandbox/src"] {
        rust_files(&workspace().join(dir), &mut files);
    }
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > 430).then(|| format!("{} ({lines} lines)", f.strip_prefix(workspace()).unwrap().display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by what they do: {long:?}");
}

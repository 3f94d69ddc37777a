//! `palisade plugin new`: a plugin project in Rust, Python, JavaScript or C that builds as it is (its
//! `build.sh` installs what the language needs) and runs under `palisade scan --plugin`. Each carries its
//! own copy of the WIT world, so it builds outside this repository.

use std::path::{Path, PathBuf};

/// The languages `plugin new` writes projects in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    /// cargo and wit-bindgen.
    Rust,
    /// componentize-py.
    Python,
    /// componentize-js.
    Js,
    /// clang with wasi-libc, and wasmtime's preview-1 adapter.
    C,
}

impl std::str::FromStr for Language {
    type Err = String;

    fn from_str(s: &str) -> Result<Language, String> {
        match s {
            "rust" => Ok(Language::Rust),
            "python" => Ok(Language::Python),
            "js" | "javascript" => Ok(Language::Js),
            "c" => Ok(Language::C),
            _ => Err(format!("{s:?} is not one of: rust, python, js, c")),
        }
    }
}

/// Why a project was not written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name does not fit a crate, a package, a file and a plugin name at once.
    #[error("{0:?} cannot name a plugin: use lowercase letters, digits and '-', starting with a letter (at most 64)")]
    BadName(String),
    /// The directory holds something already.
    #[error("{0} already exists and is not empty; choose another --dir or name")]
    NotEmpty(PathBuf),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A file of a project: where it goes, its text (with `__NAME__` and `__CRATE__` still in it), and
/// whether it is a script to run.
struct Template {
    path: &'static str,
    text: &'static str,
    executable: bool,
}

const fn file(path: &'static str, text: &'static str) -> Template {
    Template {
        path,
        text,
        executable: false,
    }
}

const fn script(path: &'static str, text: &'static str) -> Template {
    Template {
        path,
        text,
        executable: true,
    }
}

const WIT: Template = file("wit/guardrail.wit", include_str!("../../wit/guardrail.wit"));

const GITIGNORE: Template = file(
    ".gitignore",
    "/build\n/target\n/.toolchain\n/node_modules\n__pycache__/\n",
);

fn templates(language: Language) -> Vec<Template> {
    let mut files = match language {
        Language::Rust => vec![
            file("Cargo.toml", include_str!("../templates/rust/Cargo.toml")),
            file("src/lib.rs", include_str!("../templates/rust/src/lib.rs")),
            script("build.sh", include_str!("../templates/rust/build.sh")),
        ],
        Language::Python => vec![
            file("app.py", include_str!("../templates/python/app.py")),
            script("build.sh", include_str!("../templates/python/build.sh")),
        ],
        Language::Js => vec![
            file("plugin.js", include_str!("../templates/js/plugin.js")),
            file("package.json", include_str!("../templates/js/package.json")),
            script("build.sh", include_str!("../templates/js/build.sh")),
        ],
        // The C build needs a tool to write bindings and make the component; the project gets the same
        // one the C example uses.
        Language::C => vec![
            file("plugin.c", include_str!("../templates/c/plugin.c")),
            script("build.sh", include_str!("../templates/c/build.sh")),
            file(
                "tools/componentize/Cargo.toml",
                include_str!("../../examples/plugins/componentize/Cargo.toml"),
            ),
            file(
                "tools/componentize/Cargo.lock",
                include_str!("../../examples/plugins/componentize/Cargo.lock"),
            ),
            file(
                "tools/componentize/src/main.rs",
                include_str!("../../examples/plugins/componentize/src/main.rs"),
            ),
        ],
    };
    files.extend([WIT, GITIGNORE]);
    files
}

fn readme(name: &str, language: Language) -> String {
    let (source, needs) = match language {
        Language::Rust => ("src/lib.rs", "cargo (build.sh adds the wasm32-wasip2 target)"),
        Language::Python => (
            "app.py",
            "Python 3.10+ (build.sh installs componentize-py into .toolchain/)",
        ),
        Language::Js => (
            "plugin.js",
            "Node 18+ (build.sh installs componentize-js into node_modules/)",
        ),
        Language::C => (
            "plugin.c",
            "cargo and Debian's clang, lld, wasi-libc, libclang-rt-14-dev-wasm32 (build.sh installs them as root)",
        ),
    };
    format!(
        "# {name}\n\n\
         A Palisade plugin. The check is in `{source}`; the interface it implements is `wit/guardrail.wit`.\n\n\
         Build (needs {needs}):\n\n    bash build.sh\n\n\
         Try it on some text, alone, without writing a bundle:\n\n    \
         echo 'an example text' | palisade scan --plugin build/{name}.wasm\n    \
         palisade scan --plugin build/{name}.wasm --config '{{\"words\": [\"example\"]}}' notes.txt\n\n\
         Add it to a bundle: copy `build/{name}.wasm` beside `bundle.toml` and add\n\n\
         ```toml\n[[plugin]]\nname = \"{name}\"\nwasm = \"{name}.wasm\"\nsha256 = \"…\"   # sha256sum build/{name}.wasm\n\
         budget = \"10ms\"\nconfig = {{ words = [\"example\"] }}\n```\n\n\
         Spans are UTF-8 byte offsets into the text, whatever the language counts in; budgets, memory, \
         logging and testing are in Palisade's plugin guide (docs/plugins.md).\n"
    )
}

fn check_name(name: &str) -> Result<(), ScaffoldError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.len() <= 64
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ScaffoldError::BadName(name.into()))
    }
}

/// Writes a project for plugin `name` in `language` into `dir` (created; it must not hold anything
/// yet) and returns the files written. On a failure halfway, what was written is removed again.
pub fn new_plugin(
    dir: &Path,
    name: &str,
    language: Language,
) -> Result<Vec<PathBuf>, ScaffoldError> {
    check_name(name)?;
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(ScaffoldError::NotEmpty(dir.into()));
    }
    let created = !dir.exists();
    let result = write_all(dir, name, language);
    if result.is_err() && created {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

fn write_all(dir: &Path, name: &str, language: Language) -> Result<Vec<PathBuf>, ScaffoldError> {
    let crate_name = name.replace('-', "_");
    let readme = readme(name, language);
    let files = templates(language);
    let all = (files.iter().map(|t| (t.path, t.text, t.executable))).chain([(
        "README.md",
        readme.as_str(),
        false,
    )]);
    let mut written = Vec::new();
    for (path, text, executable) in all {
        let path = dir.join(path);
        let text = text
            .replace("__NAME__", name)
            .replace("__CRATE__", &crate_name);
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, text)?;
            if executable {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
            }
            Ok(())
        };
        write().map_err(|source| ScaffoldError::Write {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_fit_a_crate_a_package_and_a_file() {
        for good in ["pii-extra", "a", "topics2"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Upper",
            "2fast",
            "has space",
            "under_score",
            "trailing-",
            "../up",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_language_gets_its_sources_the_wit_world_and_a_readme() {
        for language in [Language::Rust, Language::Python, Language::Js, Language::C] {
            let dir = tempfile::tempdir().unwrap();
            let project = dir.path().join("p");
            let files = new_plugin(&project, "my-check", language).unwrap();
            assert!(files.contains(&project.join("wit/guardrail.wit")));
            assert!(files.contains(&project.join("build.sh")));
            for path in &files {
                let text = std::fs::read_to_string(path).unwrap();
                assert!(
                    !text.contains("__NAME__") && !text.contains("__CRATE__"),
                    "{path:?}"
                );
            }
            // Writing into a project that is there already is refused and changes nothing.
            let before = std::fs::read_to_string(project.join("README.md")).unwrap();
            assert!(matches!(
                new_plugin(&project, "other", language),
                Err(ScaffoldError::NotEmpty(_))
            ));
            assert_eq!(
                std::fs::read_to_string(project.join("README.md")).unwrap(),
                before
            );
        }
    }
}

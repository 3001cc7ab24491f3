//! Naming the workspace in a command a person pastes: `-C DIR` or `cd DIR && ` when the current
//! directory would not find the root by itself, and words quoted for a POSIX shell.

/// `cd DIR && ` for a command that must run in `root` (the launcher's own commands), when the
/// current directory is not already inside it.
pub fn cd_prefix(root: &std::path::Path) -> Option<String> {
    workdir_flag(root).map(|dir| format!("cd {dir} && "))
}

/// `-C`'s argument when run from the current directory would not find `root` by itself.
pub fn workdir_flag(root: &std::path::Path) -> Option<String> {
    let cwd = std::env::current_dir().ok()?;
    if super::find_root(&cwd).as_deref() == Some(root) {
        return None;
    }
    let dir = match root.strip_prefix(&cwd) {
        Ok(relative) if !relative.as_os_str().is_empty() => relative.to_string_lossy(),
        _ => root.to_string_lossy(),
    };
    Some(word(&dir))
}

/// A word a POSIX shell reads back unchanged: as is when plain, else single-quoted.
pub fn word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_paste_back_unchanged() {
        assert_eq!(word("examples/demo"), "examples/demo");
        assert_eq!(word("my repo"), "'my repo'");
        assert_eq!(word("it's"), r"'it'\''s'");
    }
}

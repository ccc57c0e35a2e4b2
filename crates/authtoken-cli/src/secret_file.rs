//! Files that hold secrets (`--database-url-file`, `--hash-key-file`): a warning when other
//! accounts of the machine may read or change them.

use std::path::Path;

/// Prints one `warning:` line on stderr when `path` is open to its group or to others (Unix
/// mode `& 0o077`): a password or hash key there is every local account's to read, or to
/// replace. A warning, not a refusal: the mode may be a deployment's (a mounted secret), and
/// the command is still the operator's to run. A file that cannot be read is reported where it
/// is read.
pub fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    if let Some(warning) = warning(path) {
        eprintln!("{warning}");
    }
    #[cfg(not(unix))]
    let _ = path; // no mode bits to read
}

#[cfg(unix)]
fn warning(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    let exposure = exposure(mode)?;
    let path = crate::display::safe(path.display());
    Some(format!("warning: {path} is {exposure} (mode {mode:o}); chmod 600 it"))
}

/// Who may do what beyond the owner, e.g. "readable by group and others"; `None` for no one.
#[cfg(unix)]
fn exposure(mode: u32) -> Option<String> {
    let (group, others) = ((mode >> 3) & 0o7, mode & 0o7);
    let parts = match (group, others) {
        (0, 0) => return None,
        _ if group == others => vec![format!("{} by group and others", access(group))],
        _ => [(group, "group"), (others, "others")]
            .into_iter()
            .filter(|(bits, _)| *bits != 0)
            .map(|(bits, who)| format!("{} by {who}", access(bits)))
            .collect(),
    };
    Some(parts.join(", "))
}

/// "readable", "readable and writable", ... for one class's `rwx` bits.
#[cfg(unix)]
fn access(bits: u32) -> String {
    let words: Vec<&str> = [(0o4, "readable"), (0o2, "writable"), (0o1, "executable")]
        .into_iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, word)| word)
        .collect();
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => words.concat(),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_exposure_is_said_in_words() {
        let said = |mode| exposure(mode).unwrap_or_default();
        assert_eq!(said(0o600), "");
        assert_eq!(said(0o400), "");
        assert_eq!(said(0o644), "readable by group and others");
        assert_eq!(said(0o640), "readable by group");
        assert_eq!(said(0o602), "writable by others");
        assert_eq!(said(0o664), "readable and writable by group, readable by others");
        assert_eq!(
            said(0o675),
            "readable, writable and executable by group, readable and executable by others"
        );
        assert_eq!(said(0o610), "executable by group");
    }
}

//! The fastapi-users side of the interop tests: a Python with `tests/interop/requirements.txt`
//! installed (`.ci/run` makes one) and the scripts in `tests/interop/`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The Python named by `AUTHTOKEN_INTEROP_PYTHON`; `None` (with a notice) outside CI when unset.
/// In CI it must be set: the interop tests never skip there.
pub fn python() -> Option<String> {
    match std::env::var("AUTHTOKEN_INTEROP_PYTHON") {
        Ok(path) if !path.is_empty() => Some(path),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "AUTHTOKEN_INTEROP_PYTHON is not set: CI must run the fastapi-users interop tests"
            )
        }
        _ => {
            // Straight to stderr: the test harness captures eprintln! of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: AUTHTOKEN_INTEROP_PYTHON is not set, so the interop test did not run"
            );
            None
        }
    }
}

/// A script in `tests/interop/`.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop").join(name)
}

/// Runs `python script args…` with `stdin` on its standard input; its trimmed standard output.
/// A failing run fails the test with the script's standard error.
pub fn run(python: &str, script_name: &str, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(python)
        .arg(script(script_name))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running the fastapi-users side");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("writing stdin");
    let output = child.wait_with_output().expect("the fastapi-users side");
    assert!(
        output.status.success(),
        "fastapi-users {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

//! Runs one of the repository's `.ci/` scripts (a cluster's or a private server's control) from
//! a test, off the async runtime, failing the test if the script fails.

use std::path::PathBuf;

/// `bash .ci/{script} {args…}`, awaited on the blocking pool; panics with the command line if
/// it cannot run or exits non-zero.
pub async fn run(script: &'static str, args: Vec<String>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci").join(script);
    let line = format!(".ci/{script} {}", args.join(" "));
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash").arg(path).args(args).status()
    })
    .await
    .expect("the control task")
    .unwrap_or_else(|e| panic!("running {line}: {e}"));
    assert!(status.success(), "{line} failed: {status}");
}

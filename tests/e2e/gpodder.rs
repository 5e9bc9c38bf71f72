//! The gpodder.net API v2 with the real client library: `tests/gpodder/mygpo_client.py` drives
//! `mygpoclient` (what gPodder desktop uses) and plain HTTP against a running stack — the Basic
//! challenge, the session cookie, devices, subscriptions from a second device with `since`, the
//! simple API in every format, and bad inputs (bad device type, a URL in both lists, an invalid
//! URL among valid ones, a gzip bomb).

use crate::helpers::{Stack, binary, python, repo_root, unlimited_writes};
use std::time::Duration;

/// `balados admin …` against the stack's database; its standard output.
fn admin(stack: &Stack, args: &[&str]) -> String {
    let out = std::process::Command::new(binary())
        .arg("admin")
        .args(args)
        .envs(stack.server_env())
        .output()
        .expect("balados runs");
    assert!(
        out.status.success(),
        "balados admin {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An account and one of its app passwords (the password the account logs in with is never
/// what a gpodder client sends).
pub(crate) fn account_with_app_password(stack: &Stack, username: &str) -> String {
    admin(
        stack,
        &[
            "user",
            "create",
            "--username",
            username,
            "--password",
            "a long enough password",
        ],
    );
    let secret = admin(stack, &["app-password", "create", "--user", username]);
    secret.trim().to_owned()
}

/// mygpoclient in the project's venv, or a failure that says how to get it.
async fn require_mygpoclient() {
    let found = tokio::process::Command::new(python())
        .args(["-c", "import mygpoclient"])
        .output()
        .await
        .is_ok_and(|out| out.status.success());
    assert!(
        found,
        "mygpoclient is not installed in {}: run `source dev/lib/infra.sh && infra_install_python_tools`",
        python().display()
    );
}

/// Runs a client script of `tests/gpodder/` with `args` within `limit`, and asserts it ended with
/// "ok all" (its steps printed).
async fn run_script(stack: &Stack, script: &str, args: &[&str], limit: Duration) {
    let run = tokio::process::Command::new(python())
        .arg(repo_root().join("tests/gpodder").join(script))
        .args(args)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(limit, run)
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within {limit:?}"))
        .expect("python runs (BALADOS_TEST_PYTHON)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success() && stdout.lines().any(|l| l == "ok all"),
        "{script} failed ({}):\n{stdout}\n{}\nserver log: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        stack.server().stderr_log.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mygpoclient_syncs_devices_and_subscriptions_through_the_gpodder_api() {
    require_mygpoclient().await;
    // A 10,000-action history for one user on purpose: beyond the writes budget's default pace.
    let mut stack = Stack::start(false).await;
    stack.start_server(&unlimited_writes()).await;
    let alice = account_with_app_password(&stack, "GpAlice");
    let bob = account_with_app_password(&stack, "gpbob");
    let url = stack.server().url.clone();
    let args = [url.as_str(), "gpalice", &alice, "gpbob", &bob];
    run_script(&stack, "mygpo_client.py", &args, Duration::from_secs(240)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mygpoclient_reads_updates_settings_favorites_toplist_and_sync_groups() {
    require_mygpoclient().await;
    let stack = Stack::start(true).await;
    let carol = account_with_app_password(&stack, "gpcarol");
    let url = stack.server().url.clone();
    let args = [url.as_str(), "gpcarol", &carol];
    run_script(&stack, "mygpo_more.py", &args, Duration::from_secs(180)).await;
}

//! The account pages in a real browser (Debian's chromium, headless, phone-sized), driven by
//! `tests/browser/account_pages.py` over the DevTools protocol: register, log out and in,
//! authorize an app, use it, the data pages (subscribing and unsubscribing on the page, the
//! listening history, the devices), revoke it (its token refused within a second), log
//! out; then Nextcloud's Login Flow v2 (log in from the app's link, grant, the poll's app password
//! syncing) — with basic accessibility checks on every page and a screenshot of each step in
//! `target/screenshots/account-pages/`.

use crate::accounts::App;
use crate::helpers::{Stack, binary, public_address_env, python, repo_root};
use std::path::{Path, PathBuf};
use std::time::Duration;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
/// Pages every run must have a screenshot of (play tokens only where the server has the page).
const PAGES: [&str; 20] = [
    "register",
    "account",
    "login",
    "authorize",
    "subscriptions",
    "subscription-refused",
    "subscription-added",
    "subscription-removed",
    "listening",
    "listening-older",
    "devices",
    "privacy",
    "app-passwords",
    "export",
    "apps",
    "password",
    "logged-out",
    "nextcloud-grant",
    "nextcloud-granted",
    "nextcloud-app-password",
];

/// Chromium on PATH, or a failure that says how to get it: the test never skips silently.
fn require_chromium() {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("chromium").is_file()));
    assert!(
        found,
        "chromium is not installed: run ./dev/test once (it installs Debian's chromium), \
         or apt-get install -y chromium"
    );
}

fn screenshot_dir() -> PathBuf {
    let dir = repo_root().join("target/screenshots/account-pages");
    // Only this run's screenshots: a step that no longer exists leaves no stale picture.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() > PNG_SIGNATURE.len() && bytes.starts_with(PNG_SIGNATURE),
        "{} is not a PNG ({} bytes)",
        path.display(),
        bytes.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_pages_work_in_a_real_browser_on_a_phone() {
    require_chromium();
    // The login link of Login Flow v2 is absolute: the server must know its own URL.
    let mut stack = Stack::start(false).await;
    stack.start_server(&public_address_env()).await;
    let app = App::new("browserapp");
    let key = stack.work_dir.join("browserapp.key.pem");
    std::fs::write(&key, &app.private).expect("app key");
    // No return URL: the page shows the user id after approval, as a desktop app would need.
    let authorize = app.authorize_path("user.subscriptions user.plays user.devices.write", None);
    let shots = screenshot_dir();

    let run = tokio::process::Command::new(python())
        .arg(repo_root().join("tests/browser/account_pages.py"))
        .arg(&stack.server().url)
        .arg(&authorize)
        .arg(binary())
        .arg(&app.id)
        .arg(&key)
        .arg(&shots)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the browser script finishes within 5 minutes")
        .expect("python runs (BALADOS_TEST_PYTHON)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser script failed ({}):\n{stdout}\n{}\nscreenshots: {}\nserver log: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        shots.display(),
        stack.server().stderr_log.display()
    );

    let written: Vec<PathBuf> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("screenshot "))
        .map(PathBuf::from)
        .collect();
    for path in &written {
        assert_png(path);
    }
    for page in PAGES {
        let suffix = format!("-{page}.png");
        assert!(
            written
                .iter()
                .any(|p| p.to_string_lossy().ends_with(&suffix)),
            "no screenshot of the {page} page in {written:?}"
        );
    }
    println!("screenshots: {}", shots.display());
}

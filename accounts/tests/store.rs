//! The accounts' table against the real PostgreSQL (`./dev/test` starts it; a fresh database per
//! test): unique usernames whatever their case, log-in with lock-out, disabling and enabling, an
//! operator's password reset.

use balados_accounts::{AccountError, Accounts, FREE_ATTEMPTS, Password, Username};
use chrono::{TimeDelta, Utc};

mod support;

async fn accounts() -> Accounts {
    let pool = support::fresh_database().await;
    let accounts = Accounts::new(pool);
    accounts.migrate().await.expect("migrate");
    accounts
        .migrate()
        .await
        .expect("migrating again is harmless");
    accounts
}

fn user(name: &str) -> Username {
    Username::parse(name).expect("valid")
}

fn password(raw: &str) -> Password {
    Password::choose(raw, "").expect("strong")
}

#[tokio::test]
async fn usernames_are_unique_whatever_their_case_and_ids_stable() {
    let accounts = accounts().await;
    let alice = accounts
        .create(&user("Alice"), &password("correct horse battery"), None)
        .await
        .expect("created");
    assert!(uuid::Uuid::parse_str(&alice.user_id).is_ok(), "a new id");
    assert_eq!(accounts.find(&user("aLiCe")).await.expect("found"), alice);
    assert!(matches!(
        accounts
            .create(&user("ALICE"), &password("another good one"), None)
            .await,
        Err(AccountError::UsernameTaken)
    ));
    // An account for data that already exists under an id.
    let demo = accounts
        .create(&user("demo"), &password("demo password 1"), Some("demo"))
        .await
        .expect("created");
    assert_eq!(demo.user_id, "demo");
    assert!(matches!(
        accounts
            .create(&user("other"), &password("demo password 2"), Some("demo"))
            .await,
        Err(AccountError::IdTaken)
    ));
    let names: Vec<String> = accounts
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|a| a.username)
        .collect();
    assert_eq!(names, ["Alice", "demo"]);
}

#[tokio::test]
async fn failed_log_ins_lock_the_account_for_a_growing_time() {
    let accounts = accounts().await;
    accounts
        .create(&user("bob"), &password("correct horse battery"), None)
        .await
        .expect("created");
    let now = Utc::now();
    assert!(
        accounts
            .log_in("BOB", "correct horse battery", now)
            .await
            .is_ok()
    );
    assert!(matches!(
        accounts
            .log_in("nobody", "correct horse battery", now)
            .await,
        Err(AccountError::WrongCredentials)
    ));
    for _ in 1..FREE_ATTEMPTS {
        assert!(matches!(
            accounts.log_in("bob", "wrong", now).await,
            Err(AccountError::WrongCredentials)
        ));
    }
    let Err(AccountError::Locked(until)) = accounts.log_in("bob", "wrong", now).await else {
        panic!("locked after {FREE_ATTEMPTS} failures");
    };
    assert_eq!(until, now + TimeDelta::minutes(1));
    // Even the right password waits for the lock to end; then it works and the count restarts.
    assert!(matches!(
        accounts.log_in("bob", "correct horse battery", now).await,
        Err(AccountError::Locked(_))
    ));
    let later = now + TimeDelta::minutes(2);
    assert!(
        accounts
            .log_in("bob", "correct horse battery", later)
            .await
            .is_ok()
    );
    assert!(matches!(
        accounts.log_in("bob", "wrong", later).await,
        Err(AccountError::WrongCredentials)
    ));
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in() {
    let accounts = accounts().await;
    accounts
        .create(&user("carol"), &password("correct horse battery"), None)
        .await
        .expect("created");
    accounts.disable(&user("Carol")).await.expect("disabled");
    assert!(matches!(
        accounts
            .log_in("carol", "correct horse battery", Utc::now())
            .await,
        Err(AccountError::Disabled)
    ));
    assert!(matches!(
        accounts.disable(&user("nobody")).await,
        Err(AccountError::NotFound)
    ));
}

#[tokio::test]
async fn a_disabled_account_enabled_again_logs_in() {
    let accounts = accounts().await;
    accounts
        .create(&user("gail"), &password("correct horse battery"), None)
        .await
        .expect("created");
    accounts.disable(&user("gail")).await.expect("disabled");
    accounts.enable(&user("GAIL")).await.expect("enabled");
    let account = accounts
        .log_in("gail", "correct horse battery", Utc::now())
        .await
        .expect("logs in again");
    assert!(account.disabled_at.is_none());
    assert!(matches!(
        accounts.enable(&user("nobody")).await,
        Err(AccountError::NotFound)
    ));
}

#[tokio::test]
async fn a_reset_password_replaces_the_old_clears_the_lock_and_closes_every_session() {
    let accounts = accounts().await;
    let hal = accounts
        .create(&user("hal"), &password("correct horse battery"), None)
        .await
        .expect("created");
    let sessions = balados_accounts::Sessions::new(accounts.pool().clone());
    let (cookie, _) = sessions
        .open(&hal.user_id, balados_accounts::SessionKind::Web)
        .await
        .expect("a session");
    let passwords = balados_accounts::AppPasswords::new(accounts.pool().clone());
    let (_, app_secret) = passwords
        .create(&hal.user_id, "phone")
        .await
        .expect("an app password");
    let now = Utc::now();
    for _ in 0..FREE_ATTEMPTS {
        let _ = accounts.log_in("hal", "forgotten", now).await;
    }
    assert!(
        matches!(
            accounts.log_in("hal", "correct horse battery", now).await,
            Err(AccountError::Locked(_))
        ),
        "locked out"
    );

    let id = accounts
        .reset_password(&user("HAL"), &password("a brand new passphrase"))
        .await
        .expect("reset");
    assert_eq!(id, hal.user_id);
    assert!(
        accounts
            .log_in("hal", "a brand new passphrase", now)
            .await
            .is_ok(),
        "the new password logs in at once: the lock is cleared"
    );
    assert!(matches!(
        accounts.log_in("hal", "correct horse battery", now).await,
        Err(AccountError::WrongCredentials)
    ));
    let found = sessions
        .find(&cookie, balados_accounts::SessionKind::Web)
        .await
        .expect("query");
    assert!(
        found.is_none(),
        "whoever knew the old password is logged out"
    );
    assert_eq!(
        passwords.verify("hal", &app_secret).await.expect("query"),
        Some(hal.user_id.clone()),
        "the apps keep syncing"
    );
    assert!(matches!(
        accounts
            .reset_password(&user("nobody"), &password("a brand new passphrase"))
            .await,
        Err(AccountError::NotFound)
    ));
}

#[tokio::test]
async fn app_passwords_are_shown_once_log_in_their_user_only_and_can_be_revoked() {
    let accounts = accounts().await;
    let dana = accounts
        .create(&user("Dana"), &password("correct horse battery"), None)
        .await
        .expect("created");
    let erin = accounts
        .create(&user("erin"), &password("correct horse battery"), None)
        .await
        .expect("created");
    let passwords = balados_accounts::AppPasswords::new(accounts.pool().clone());
    let (record, secret) = passwords
        .create(&dana.user_id, "  AntennaPod on my phone ")
        .await
        .expect("created");
    assert_eq!(record.name, "AntennaPod on my phone");
    assert!(secret.starts_with("bal_") && secret.len() > 40, "{secret}");
    let (_, other) = passwords
        .create(&dana.user_id, "gPodder")
        .await
        .expect("created");
    assert_ne!(secret, other, "random");
    // It logs in its user, whatever the username's case, and no one else.
    assert_eq!(
        passwords.verify("DANA", &secret).await.expect("query"),
        Some(dana.user_id.clone())
    );
    assert_eq!(
        passwords.verify("erin", &secret).await.expect("query"),
        None
    );
    assert_eq!(
        passwords.verify("dana", "bal_guess").await.expect("query"),
        None
    );
    // The account password is not an app password.
    assert_eq!(
        passwords
            .verify("dana", "correct horse battery")
            .await
            .expect("query"),
        None
    );
    // Revoked: refused; another user cannot revoke it.
    assert!(matches!(
        passwords.revoke(&erin.user_id, record.id).await,
        Err(balados_accounts::AppPasswordError::NotFound)
    ));
    passwords
        .revoke(&dana.user_id, record.id)
        .await
        .expect("revoked");
    assert_eq!(
        passwords.verify("dana", &secret).await.expect("query"),
        None
    );
    assert_eq!(
        passwords.verify("dana", &other).await.expect("query"),
        Some(dana.user_id.clone())
    );
    let listed = passwords.list(&dana.user_id).await.expect("list");
    assert_eq!(listed.len(), 2);
    assert!(listed[0].revoked_at.is_some() && listed[1].revoked_at.is_none());
    // A disabled account's app passwords log nobody in.
    accounts.disable(&user("dana")).await.expect("disabled");
    assert_eq!(passwords.verify("dana", &other).await.expect("query"), None);
    assert!(matches!(
        passwords.create(&dana.user_id, "a\nb").await,
        Err(balados_accounts::AppPasswordError::InvalidName)
    ));
}

//! Web sessions and password changes against the real PostgreSQL: a cookie value finds its session
//! only while it lives, the stored digest is not the cookie, and a password change closes the
//! user's other sessions.

use balados_accounts::{Accounts, Password, PasswordChangeError, SessionKind, Sessions, Username};

mod support;

#[tokio::test]
async fn sessions_open_find_close_and_a_password_change_closes_the_others() {
    let pool = support::fresh_database().await;
    let accounts = Accounts::new(pool.clone());
    accounts.migrate().await.expect("migrate");
    let ann = support::account(&accounts, "ann").await;
    let sessions = Sessions::new(pool.clone());
    let (phone, opened) = sessions
        .open(&ann.user_id, SessionKind::Web)
        .await
        .expect("opened");
    let (laptop, _) = sessions
        .open(&ann.user_id, SessionKind::Web)
        .await
        .expect("opened");
    assert_ne!(phone, laptop);
    let found = sessions
        .find(&phone, SessionKind::Web)
        .await
        .expect("read")
        .expect("live");
    assert_eq!(
        (found.username.as_str(), &found.csrf),
        ("ann", &opened.csrf)
    );
    assert!(
        sessions
            .find("planted-by-someone", SessionKind::Web)
            .await
            .expect("read")
            .is_none()
    );
    let stored: Vec<(String,)> = sqlx::query_as("SELECT digest FROM accounts.sessions")
        .fetch_all(&pool)
        .await
        .expect("rows");
    assert!(
        stored.iter().all(|(d,)| d != &phone && d != &laptop),
        "only digests stored"
    );

    assert!(matches!(
        accounts
            .change_password(&ann.user_id, "wrong password", "another good passphrase")
            .await,
        Err(PasswordChangeError::Account(_))
    ));
    assert!(matches!(
        accounts
            .change_password(&ann.user_id, "correct horse battery", "short")
            .await,
        Err(PasswordChangeError::Weak(_))
    ));
    accounts
        .change_password(
            &ann.user_id,
            "correct horse battery",
            "another good passphrase",
        )
        .await
        .expect("changed");
    assert_eq!(
        sessions
            .close_others(&ann.user_id, &phone)
            .await
            .expect("closed"),
        1
    );
    assert!(
        sessions
            .find(&laptop, SessionKind::Web)
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        sessions
            .find(&phone, SessionKind::Web)
            .await
            .expect("read")
            .is_some()
    );
    assert!(
        accounts
            .log_in("ann", "another good passphrase", chrono::Utc::now())
            .await
            .is_ok()
    );
    sessions.close(&phone).await.expect("closed");
    assert!(
        sessions
            .find(&phone, SessionKind::Web)
            .await
            .expect("read")
            .is_none()
    );
}

#[tokio::test]
async fn an_erased_account_keeps_nothing_that_logs_in_or_acts_and_frees_its_name() {
    let pool = support::fresh_database().await;
    let accounts = Accounts::new(pool.clone());
    accounts.migrate().await.expect("migrate");
    let name = Username::parse("zoe").expect("valid");
    let zoe = accounts
        .create(
            &name,
            &Password::choose("correct horse battery", "zoe").expect("strong"),
            None,
        )
        .await
        .expect("created");
    let sessions = Sessions::new(pool.clone());
    let (cookie, _) = sessions
        .open(&zoe.user_id, SessionKind::Web)
        .await
        .expect("opened");
    let passwords = balados_accounts::AppPasswords::new(pool.clone());
    let (_, secret) = passwords
        .create(&zoe.user_id, "phone")
        .await
        .expect("created");
    let tokens = balados_accounts::PlayTokens::new(pool.clone());
    let (_, play) = tokens
        .create(&zoe.user_id, "feeds", 30)
        .await
        .expect("created");
    let authorizations = balados_accounts::Authorizations::new(pool.clone());
    let scopes = balados_auth::Scopes::parse("user").expect("scopes");
    let key = include_str!("../../auth/tests/fixtures/test-app.pem");
    authorizations
        .authorize(&zoe.user_id, ("podapp", "Pod App", key), &scopes)
        .await
        .expect("authorized");
    let grants = balados_accounts::GrantCache::default();
    grants.refresh(&pool).await.expect("refresh");
    assert!(balados_auth::Grants::grant(&grants, &zoe.user_id, "podapp").is_some());

    accounts.erase(&zoe.user_id).await.expect("erased");
    assert!(
        sessions
            .find(&cookie, SessionKind::Web)
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        passwords
            .verify("zoe", &secret)
            .await
            .expect("read")
            .is_none()
    );
    assert!(tokens.verify(&play).await.expect("read").is_none());
    grants.refresh(&pool).await.expect("refresh");
    assert!(
        balados_auth::Grants::grant(&grants, &zoe.user_id, "podapp").is_none(),
        "revoked everywhere"
    );
    assert!(
        accounts
            .log_in("zoe", "correct horse battery", chrono::Utc::now())
            .await
            .is_err()
    );
    let again = accounts
        .create(
            &name,
            &Password::choose("another good passphrase", "zoe").expect("strong"),
            None,
        )
        .await
        .expect("the name is free again");
    assert_ne!(again.user_id, zoe.user_id, "a new person, a new id");
}

#[tokio::test]
async fn a_session_opens_only_what_its_kind_allows_and_each_kind_is_capped() {
    let pool = support::fresh_database().await;
    let accounts = Accounts::new(pool.clone());
    accounts.migrate().await.expect("migrate");
    let bob = support::account(&accounts, "bob").await;
    let sessions = Sessions::new(pool.clone());
    let (app, _) = sessions
        .open(&bob.user_id, SessionKind::Gpodder)
        .await
        .expect("opened");
    assert!(
        sessions
            .find(&app, SessionKind::Gpodder)
            .await
            .expect("read")
            .is_some()
    );
    assert!(
        sessions
            .find(&app, SessionKind::Web)
            .await
            .expect("read")
            .is_none(),
        "an app password's session never opens the account's pages"
    );
    let (web, _) = sessions
        .open(&bob.user_id, SessionKind::Web)
        .await
        .expect("opened");
    assert!(
        sessions
            .find(&web, SessionKind::Gpodder)
            .await
            .expect("read")
            .is_none()
    );
    for _ in 0..balados_accounts::MAX_SESSIONS_PER_KIND + 5 {
        sessions
            .open(&bob.user_id, SessionKind::Gpodder)
            .await
            .expect("opened");
    }
    let (count,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM accounts.sessions WHERE user_id = $1 AND kind = 'gpodder'",
    )
    .bind(&bob.user_id)
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(count, balados_accounts::MAX_SESSIONS_PER_KIND);
    assert!(
        sessions
            .find(&app, SessionKind::Gpodder)
            .await
            .expect("read")
            .is_none(),
        "oldest closed"
    );
    assert!(
        sessions
            .find(&web, SessionKind::Web)
            .await
            .expect("read")
            .is_some(),
        "other kinds kept"
    );
}

#[tokio::test]
async fn a_session_opened_with_an_app_password_ends_with_it() {
    let pool = support::fresh_database().await;
    let accounts = Accounts::new(pool.clone());
    accounts.migrate().await.expect("migrate");
    let cy = support::account(&accounts, "cyd").await;
    let passwords = balados_accounts::AppPasswords::new(pool.clone());
    let (record, secret) = passwords
        .create(&cy.user_id, "phone")
        .await
        .expect("created");
    let (user, id) = passwords
        .verify_which("cyd", &secret)
        .await
        .expect("read")
        .expect("valid");
    assert_eq!((user.as_str(), id), (cy.user_id.as_str(), record.id));
    let sessions = Sessions::new(pool.clone());
    let (cookie, _) = sessions
        .open_for_app_password(&cy.user_id, id)
        .await
        .expect("opened");
    assert!(
        sessions
            .find(&cookie, SessionKind::Gpodder)
            .await
            .expect("read")
            .is_some()
    );
    passwords.revoke(&cy.user_id, id).await.expect("revoked");
    assert!(
        sessions
            .find(&cookie, SessionKind::Gpodder)
            .await
            .expect("read")
            .is_none(),
        "revoking the app password ends its sessions"
    );
}

#[tokio::test]
async fn a_user_holds_a_bounded_number_of_live_app_passwords() {
    let pool = support::fresh_database().await;
    let accounts = Accounts::new(pool.clone());
    accounts.migrate().await.expect("migrate");
    let dee = support::account(&accounts, "dee").await;
    let passwords = balados_accounts::AppPasswords::new(pool.clone());
    let mut first = None;
    for n in 0..balados_accounts::MAX_LIVE {
        let (record, _) = passwords
            .create(&dee.user_id, &format!("app {n}"))
            .await
            .expect("created");
        first.get_or_insert(record.id);
    }
    assert!(matches!(
        passwords.create(&dee.user_id, "one more").await,
        Err(balados_accounts::AppPasswordError::TooMany)
    ));
    passwords
        .revoke(&dee.user_id, first.expect("one"))
        .await
        .expect("revoked");
    assert!(
        passwords.create(&dee.user_id, "one more").await.is_ok(),
        "room again once one is revoked"
    );
}

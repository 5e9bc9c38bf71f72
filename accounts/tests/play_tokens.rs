//! Play tokens against the real PostgreSQL: shown once and stored as a digest, good for their user
//! only until they expire or are revoked, refused for a disabled account, bounded lifetimes.

use balados_accounts::{
    Accounts, DEFAULT_PLAY_TOKEN_DAYS, MAX_PLAY_TOKEN_DAYS, PlayTokenError, PlayTokens, Username,
};
use chrono::{TimeDelta, Utc};

mod support;

async fn store() -> (Accounts, PlayTokens) {
    let pool = support::fresh_database().await;
    let accounts = Accounts::new(pool.clone());
    accounts.migrate().await.expect("migrate");
    accounts
        .migrate()
        .await
        .expect("migrating again is harmless");
    (accounts, PlayTokens::new(pool))
}

#[tokio::test]
async fn a_play_token_is_shown_once_stored_as_its_digest_and_stands_for_its_user() {
    let (accounts, tokens) = store().await;
    let ann = support::account(&accounts, "ann").await;
    let (record, token) = tokens
        .create(&ann.user_id, "  my RSS reader ", DEFAULT_PLAY_TOKEN_DAYS)
        .await
        .expect("created");
    assert_eq!(record.name, "my RSS reader");
    assert!(token.starts_with("bpt_") && token.len() > 40, "{token}");
    let (_, other) = tokens
        .create(&ann.user_id, "car player", 30)
        .await
        .expect("created");
    assert_ne!(token, other, "random");
    assert_eq!(
        tokens.verify(&token).await.expect("query"),
        Some(ann.user_id.clone())
    );
    assert_eq!(tokens.verify("bpt_guess").await.expect("query"), None);
    assert_eq!(tokens.verify("").await.expect("query"), None);
    let stored: Vec<(String,)> = sqlx::query_as("SELECT digest FROM accounts.play_tokens")
        .fetch_all(accounts.pool())
        .await
        .expect("rows");
    assert_eq!(stored.len(), 2);
    assert!(
        stored
            .iter()
            .all(|(d,)| d != &token && d != &other && !d.contains("bpt_")),
        "only digests stored"
    );
    // Nothing else in the table holds the token either.
    let leaked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM accounts.play_tokens t WHERE t::text LIKE '%' || $1 || '%'",
    )
    .bind(&token[4..])
    .fetch_one(accounts.pool())
    .await
    .expect("count");
    assert_eq!(leaked, 0);
    let listed = tokens.list(&ann.user_id).await.expect("list");
    assert_eq!(
        listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["my RSS reader", "car player"]
    );
    assert!(listed.iter().all(|t| t.revoked_at.is_none()));
}

#[tokio::test]
async fn a_play_token_expires_after_the_days_chosen_at_creation() {
    let (accounts, tokens) = store().await;
    let bob = support::account(&accounts, "bob").await;
    let (record, token) = tokens
        .create(&bob.user_id, "podcast player", 30)
        .await
        .expect("created");
    let lifetime = record.expires_at - record.created_at;
    assert_eq!(lifetime, TimeDelta::days(30));
    assert!(record.expires_at > Utc::now() + TimeDelta::days(29));
    assert_eq!(
        tokens.verify(&token).await.expect("query"),
        Some(bob.user_id.clone())
    );
    sqlx::query("UPDATE accounts.play_tokens SET expires_at = now() - interval '1 second'")
        .execute(accounts.pool())
        .await
        .expect("expired");
    assert_eq!(tokens.verify(&token).await.expect("query"), None);
    // Still listed, for its user to see why it stopped working.
    assert_eq!(tokens.list(&bob.user_id).await.expect("list").len(), 1);
}

#[tokio::test]
async fn a_play_token_lives_one_day_to_ten_years_under_a_valid_name() {
    let (accounts, tokens) = store().await;
    let cid = support::account(&accounts, "cid").await;
    for days in [0, MAX_PLAY_TOKEN_DAYS + 1] {
        assert!(matches!(
            tokens.create(&cid.user_id, "feed", days).await,
            Err(PlayTokenError::InvalidLifetime)
        ));
    }
    for days in [1, MAX_PLAY_TOKEN_DAYS] {
        let (record, _) = tokens
            .create(&cid.user_id, "feed", days)
            .await
            .expect("created");
        assert_eq!(
            record.expires_at - record.created_at,
            TimeDelta::days(days.into())
        );
    }
    for name in ["", "   ", "a\nb", &"x".repeat(101)] {
        assert!(matches!(
            tokens.create(&cid.user_id, name, 30).await,
            Err(PlayTokenError::InvalidName)
        ));
    }
}

#[tokio::test]
async fn a_revoked_play_token_is_refused_and_only_its_user_revokes_or_lists_it() {
    let (accounts, tokens) = store().await;
    let dana = support::account(&accounts, "dana").await;
    let erin = support::account(&accounts, "erin").await;
    let (record, token) = tokens
        .create(&dana.user_id, "gateway", 30)
        .await
        .expect("created");
    let (_, kept) = tokens
        .create(&dana.user_id, "feed", 30)
        .await
        .expect("created");
    assert!(tokens.list(&erin.user_id).await.expect("list").is_empty());
    assert!(matches!(
        tokens.revoke(&erin.user_id, record.id).await,
        Err(PlayTokenError::NotFound)
    ));
    assert!(matches!(
        tokens.revoke(&dana.user_id, uuid::Uuid::new_v4()).await,
        Err(PlayTokenError::NotFound)
    ));
    assert_eq!(
        tokens.verify(&token).await.expect("query"),
        Some(dana.user_id.clone())
    );
    tokens
        .revoke(&dana.user_id, record.id)
        .await
        .expect("revoked");
    tokens
        .revoke(&dana.user_id, record.id)
        .await
        .expect("revoking again is harmless");
    assert_eq!(tokens.verify(&token).await.expect("query"), None);
    assert_eq!(
        tokens.verify(&kept).await.expect("query"),
        Some(dana.user_id.clone())
    );
    let listed = tokens.list(&dana.user_id).await.expect("list");
    assert!(listed[0].revoked_at.is_some() && listed[1].revoked_at.is_none());
}

#[tokio::test]
async fn a_disabled_accounts_play_tokens_stand_for_nobody() {
    let (accounts, tokens) = store().await;
    let fay = support::account(&accounts, "fay").await;
    let (_, token) = tokens
        .create(&fay.user_id, "feed", 30)
        .await
        .expect("created");
    accounts
        .disable(&Username::parse("fay").expect("valid"))
        .await
        .expect("disabled");
    assert_eq!(tokens.verify(&token).await.expect("query"), None);
}

//! Login Flow v2 against the real PostgreSQL: a poll finds nothing until the user grants, then
//! hands over a working app password exactly once; nothing secret is stored; a cancelled or
//! disabled user's flow hands over nothing; pending flows are bounded per address.

use balados_accounts::{Accounts, AppPasswords, LoginFlowError, LoginFlows, MAX_FLOWS_PER_ADDRESS};

mod support;

#[tokio::test]
async fn a_granted_flow_hands_over_one_working_app_password_once() {
    let pool = support::fresh_database().await;
    let accounts = Accounts::new(pool.clone());
    accounts.migrate().await.expect("migrate");
    let ann = support::account(&accounts, "Ann").await;
    let flows = LoginFlows::new(pool.clone());
    let flow = flows
        .start("AntennaPod/3.5.0 (Android)", "10.0.0.1")
        .await
        .expect("started");
    let pending = flows.pending(&flow.id).await.expect("read").expect("waits");
    assert_eq!(pending.client, "AntennaPod/3.5.0 (Android)");
    assert!(
        flows
            .poll(&flow.poll_token)
            .await
            .expect("polled")
            .is_none()
    );
    assert!(
        flows
            .pending(&flow.poll_token)
            .await
            .expect("read")
            .is_none()
    );

    flows.grant(&flow.id, &ann.user_id).await.expect("granted");
    assert!(flows.pending(&flow.id).await.expect("read").is_none());
    assert!(matches!(
        flows.grant(&flow.id, &ann.user_id).await,
        Err(LoginFlowError::NotFound)
    ));
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT id, poll_digest FROM accounts.login_flows")
            .fetch_all(&pool)
            .await
            .expect("rows");
    assert!(stored.iter().all(|(_, d)| d != &flow.poll_token));

    let login = flows
        .poll(&flow.poll_token)
        .await
        .expect("polled")
        .expect("granted");
    assert_eq!(login.username, "Ann");
    let passwords = AppPasswords::new(pool.clone());
    assert_eq!(
        passwords
            .verify("ann", &login.app_password)
            .await
            .expect("checked"),
        Some(ann.user_id.clone())
    );
    let names: Vec<String> = passwords
        .list(&ann.user_id)
        .await
        .expect("listed")
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["AntennaPod/3.5.0 (Android)"]);
    assert!(
        flows
            .poll(&flow.poll_token)
            .await
            .expect("polled")
            .is_none()
    );

    // Cancelled: nothing to grant or poll.
    let cancelled = flows.start("app", "10.0.0.1").await.expect("started");
    flows.cancel(&cancelled.id).await.expect("cancelled");
    assert!(flows.grant(&cancelled.id, &ann.user_id).await.is_err());
    assert!(
        flows
            .poll(&cancelled.poll_token)
            .await
            .expect("polled")
            .is_none()
    );

    // Granted, then the account disabled before the poll: no password.
    let late = flows.start("app", "10.0.0.2").await.expect("started");
    flows.grant(&late.id, &ann.user_id).await.expect("granted");
    sqlx::query("UPDATE accounts.users SET disabled_at = now()")
        .execute(&pool)
        .await
        .expect("disabled");
    assert!(
        flows
            .poll(&late.poll_token)
            .await
            .expect("polled")
            .is_none()
    );
}

#[tokio::test]
async fn pending_flows_are_bounded_per_address_and_expired_ones_swept() {
    let pool = support::fresh_database().await;
    Accounts::new(pool.clone())
        .migrate()
        .await
        .expect("migrate");
    let flows = LoginFlows::new(pool.clone());
    for _ in 0..MAX_FLOWS_PER_ADDRESS {
        flows.start("app", "10.0.0.3").await.expect("started");
    }
    assert!(matches!(
        flows.start("app", "10.0.0.3").await,
        Err(LoginFlowError::TooMany)
    ));
    flows
        .start("app", "10.0.0.4")
        .await
        .expect("another address");
    sqlx::query("UPDATE accounts.login_flows SET expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .expect("expired");
    flows
        .start("app", "10.0.0.3")
        .await
        .expect("swept, room again");
    let (left,): (i64,) = sqlx::query_as("SELECT count(*) FROM accounts.login_flows")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(left, 1);
}

//! What the accounts' tests share: a fresh database per test on the PostgreSQL `./dev/test` starts.

use sqlx::{Connection as _, PgConnection};

/// A new, empty database (named t + 12 hex digits, which `./dev/test` drops at its next start).
pub async fn fresh_database() -> sqlx::PgPool {
    let admin = std::env::var("BALADOS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://balados:balados@127.0.0.1:5432/postgres".into());
    let name = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut conn = PgConnection::connect(&admin).await.expect("PostgreSQL");
    // `name` is generated here, letters and digits only.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .expect("create database");
    let (server, _) = admin.rsplit_once('/').expect("a database in the URL");
    sqlx::PgPool::connect(&format!("{server}/{name}"))
        .await
        .expect("connect")
}

/// A new account `name` (any password strong enough: these tests are not about it).
#[allow(dead_code, reason = "each test file uses the helpers it needs")]
pub async fn account(
    accounts: &balados_accounts::Accounts,
    name: &str,
) -> balados_accounts::Account {
    accounts
        .create(
            &balados_accounts::Username::parse(name).expect("valid"),
            &balados_accounts::Password::choose("correct horse battery", name).expect("strong"),
            None,
        )
        .await
        .expect("created")
}

//! A fresh PostgreSQL database per run, created and dropped through the server's admin database.

use sqlx::{AssertSqlSafe, Connection as _, PgConnection};

#[derive(Debug)]
pub struct Database {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl Database {
    /// Creates database `name` on the server of `admin_url` (a URL whose path names an existing
    /// database, e.g. `/postgres`).
    pub async fn create(admin_url: &str, name: &str) -> anyhow::Result<Self> {
        let (server, _) = admin_url
            .rsplit_once('/')
            .ok_or_else(|| anyhow::anyhow!("--database-admin-url: expected postgres://…/DB"))?;
        let mut admin = PgConnection::connect(admin_url).await?;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        Ok(Self {
            admin_url: admin_url.to_owned(),
            name: name.to_owned(),
            url: format!("{server}/{name}"),
        })
    }

    pub async fn connect(&self) -> anyhow::Result<PgConnection> {
        Ok(PgConnection::connect(&self.url).await?)
    }

    pub async fn drop(self) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE \"{}\" WITH (FORCE)",
            self.name
        )))
        .execute(&mut admin)
        .await?;
        admin.close().await?;
        Ok(())
    }
}

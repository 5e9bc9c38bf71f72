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

    /// `ALTER DATABASE … SET key = value`: a setting for every session opened afterwards (e.g.
    /// `log_min_duration_statement=0` to see where PostgreSQL spends its time).
    pub async fn set(&self, setting: &str) -> anyhow::Result<()> {
        let (key, value) = setting
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--pg-setting {setting}: expected KEY=VALUE"))?;
        let mut conn = self.connect().await?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "ALTER DATABASE \"{}\" SET {key} = '{}'",
            self.name,
            value.replace('\'', "''")
        )))
        .execute(&mut conn)
        .await?;
        conn.close().await?;
        Ok(())
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

//! `balados schema-registry`: the Confluent-compatible registry, storage in PostgreSQL.

use balados_platform::Settings;
use balados_schema_registry::Registry;

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let pool = balados_platform::db::connect_with_retry(&settings.database).await;
    Registry::migrate(&pool).await?;
    let addr = &settings.schema_registry.listen;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!("cannot listen on {addr} (setting schema_registry.listen): {e}")
    })?;
    crate::http::announce("schema-registry", listener.local_addr()?);
    let server = balados_schema_registry::serve(listener, Registry::new(pool));
    tokio::select! {
        result = server => result?,
        () = crate::serve::shutdown_signal() => tracing::info!("schema registry stopping"),
    }
    Ok(())
}

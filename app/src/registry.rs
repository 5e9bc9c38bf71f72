//! `balados schema-registry`: the Confluent-compatible registry, storage in PostgreSQL. Reads are
//! open; writes need the operator credential, and are refused when none is configured.

use balados_platform::Settings;
use balados_schema_registry::{OperatorCredential, Registry, WriteAccess};

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let pool = balados_platform::db::connect_with_retry(
        &settings.database,
        balados_platform::db::Role::Writer,
    )
    .await;
    Registry::migrate(&pool).await?;
    let writes = write_access(&settings);
    let addr = &settings.schema_registry.listen;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!("cannot listen on {addr} (setting schema_registry.listen): {e}")
    })?;
    crate::http::announce("schema-registry", listener.local_addr()?);
    let server = balados_schema_registry::serve(listener, Registry::new(pool, writes));
    tokio::select! {
        result = server => result?,
        () = crate::serve::shutdown_signal() => tracing::info!("schema registry stopping"),
    }
    Ok(())
}

/// Who may write, said once at start-up: a registry that refuses writes is a deliberate default,
/// and the operator must learn why producers get 403 before they do.
fn write_access(settings: &Settings) -> WriteAccess {
    let registry = &settings.schema_registry;
    match &registry.operator_password {
        Some(password) => {
            tracing::info!(
                schema_registry.operator_user = %registry.operator_user,
                "schema registry: writes and deletes need the operator credential (HTTP Basic); \
                 reads are open"
            );
            WriteAccess::Operator(OperatorCredential::new(
                registry.operator_user.clone(),
                password,
            ))
        }
        None => {
            tracing::warn!(
                "schema registry: every write and delete is REFUSED (403) because no operator \
                 password is configured; set schema_registry.operator_password (e.g. \
                 BALADOS__SCHEMA_REGISTRY__OPERATOR_PASSWORD) to allow them with HTTP Basic auth \
                 as schema_registry.operator_user; reads are open either way"
            );
            WriteAccess::Refused
        }
    }
}

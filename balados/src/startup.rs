//! Waiting for what a service needs, saying what is missing, instead of crash-looping.

use balados_platform::Settings;
use balados_schemas::registry_client::RegistryClient;
use balados_schemas::{Codec, Contract};
use std::time::Duration;

/// The codec, once the registry answers and holds (or accepted) our schemas.
pub async fn codec(settings: &Settings, writes: &[Contract]) -> anyhow::Result<Codec> {
    let client = RegistryClient::new(&settings.schema_registry.url)?;
    let topics = settings.topics();
    let mut delay = Duration::from_millis(500);
    loop {
        match Codec::connect(
            client.clone(),
            &topics,
            writes,
            settings.schema_registry.auto_register,
        )
        .await
        {
            Ok(codec) => return Ok(codec),
            Err(balados_schemas::CodecError::Registry(e)) if e.is_transient() => tracing::warn!(
                schema_registry.url = %settings.schema_registry.url,
                error = %e,
                retry_in_ms = delay.as_millis() as u64,
                "schema registry unreachable (setting schema_registry.url); retrying"
            ),
            Err(e) => anyhow::bail!("schema registry refused our schemas: {e}"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// Runs the read-model migrations.
pub async fn migrate(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    balados_materializer::MIGRATOR.run(pool).await?;
    Ok(())
}

pub fn verifier(
    settings: &Settings,
) -> anyhow::Result<std::sync::Arc<dyn balados_auth::TokenVerifier>> {
    let dir = &settings.auth.app_keys_dir;
    let verifier = balados_auth::StaticKeyVerifier::from_dir(dir)
        .map_err(|e| anyhow::anyhow!("{e} (setting auth.app_keys_dir)"))?;
    if verifier.app_count() == 0 {
        tracing::warn!(auth.app_keys_dir = %dir.display(), "no app public keys found: every token will be refused");
    }
    Ok(std::sync::Arc::new(verifier))
}

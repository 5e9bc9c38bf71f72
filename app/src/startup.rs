//! Waiting for what a service needs, saying what is missing, instead of crash-looping.

use balados_accounts::GrantCache;
use balados_auth::KeyLoadError;
use balados_auth::{
    CachedVerifier, GrantedVerifier, OperatorThenGranted, StaticKeyVerifier, TokenVerifier,
};
use balados_platform::Settings;
use balados_schemas::registry_client::{RegistryError, SchemaStep};
use balados_schemas::{Codec, CodecError, Contract};
use std::sync::Arc;
use std::time::Duration;

/// The codec, once the registry answers and holds (or accepted) our schemas. Waits, with back-off,
/// while the registry is down or failing (transient); when it refuses, returns at once with
/// [`Refused::explain`]'s message, since restarting would only be refused again.
pub async fn codec(settings: &Settings, writes: &[Contract]) -> anyhow::Result<Codec> {
    let registry = &settings.schema_registry;
    let client = registry.client().map_err(|e| {
        anyhow::anyhow!("{e} (settings schema_registry.url, operator_user and operator_password)")
    })?;
    let topics = settings.topics();
    let mut delay = Duration::from_millis(500);
    loop {
        match Codec::connect(client.clone(), &topics, writes, registry.auto_register).await {
            Ok(codec) => return Ok(codec),
            Err(CodecError::Registration { subject, error, .. }) if error.is_transient() => {
                let what = if matches!(error, RegistryError::Unreachable { .. }) {
                    "schema registry unreachable (setting schema_registry.url); retrying"
                } else {
                    "schema registry failing (a server error on its side); retrying"
                };
                tracing::warn!(
                    schema_registry.url = %registry.url,
                    schema_registry.subject = %subject,
                    error = %error,
                    retry_in_ms = delay.as_millis() as u64,
                    "{what}"
                );
            }
            Err(CodecError::Registration {
                contract,
                subject,
                step,
                error,
            }) => {
                let refused = Refused {
                    url: &registry.url,
                    contract,
                    subject: &subject,
                    step,
                    with_credential: client.has_credential(),
                };
                anyhow::bail!(refused.explain(&error))
            }
            Err(e) => anyhow::bail!("our schemas could not be prepared: {e}"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// A refusal of one of our schemas by the registry, which no waiting will cure.
#[derive(Debug)]
struct Refused<'a> {
    url: &'a str,
    contract: Contract,
    subject: &'a str,
    step: SchemaStep,
    /// Whether we sent the operator credential.
    with_credential: bool,
}

/// How the commands in the messages present the credential, without ever printing it.
const AUTH: &str = r#"-u "$OPERATOR_USER:$OPERATOR_PASSWORD""#;
const JSON: &str = "-H 'Content-Type: application/vnd.schemaregistry.v1+json'";
const CREDENTIAL: &str = "the operator credential (schema_registry.operator_user, default \
    \"operator\", and schema_registry.operator_password, e.g. \
    BALADOS__SCHEMA_REGISTRY__OPERATOR_PASSWORD)";

impl Refused<'_> {
    /// What the registry said, about which subject, and how to recover: the message a service
    /// exits with, instead of crash-looping on an opaque error.
    fn explain(&self, error: &RegistryError) -> String {
        let url = self.url.trim_end_matches('/');
        let doing = match self.step {
            SchemaStep::Register => "registering it",
            SchemaStep::Lookup => "looking it up",
        };
        let steps = self.recovery(url, error);
        format!(
            "our {:?} schema was refused by the schema registry at {url} ({doing} under subject \
             {}): {error}\nTo recover:\n  - {}",
            self.contract,
            self.subject,
            steps.join("\n  - ")
        )
    }

    fn recovery(&self, url: &str, error: &RegistryError) -> Vec<String> {
        let subject = self.subject;
        let register = format!(
            "register it by hand: jq -Rs '{{schema: .}}' schemas/avro/{} | curl -fsS {AUTH} {JSON} \
             --data @- {url}/subjects/{subject}/versions",
            avsc(self.contract)
        );
        let status = match error {
            RegistryError::Refused { status, .. } => *status,
            _ => 0,
        };
        match (status, self.step) {
            (401, step) if !self.with_credential => {
                let mut steps = vec![format!(
                    "this service sent no credential and the registry wants one: set {CREDENTIAL} \
                     to the registry's, and restart"
                )];
                if step == SchemaStep::Register {
                    steps.push(format!(
                        "or have an operator {register}; then run with \
                         schema_registry.auto_register = false, which only reads"
                    ));
                }
                steps
            }
            (401, _) => vec![format!(
                "the registry did not accept our credential: set {CREDENTIAL} to the values the \
                 registry was started with, and restart"
            )],
            (403, _) => vec![
                "our registry (balados schema-registry) refuses every write when it was started \
                 without schema_registry.operator_password: set it there and the same here, then \
                 restart both"
                    .to_owned(),
                format!(
                    "Confluent's registry answers 403 when the credential may not write to \
                     {subject}: use one that may, or {register} and run with \
                     schema_registry.auto_register = false"
                ),
            ],
            (409, SchemaStep::Register) => vec![
                format!(
                    "{subject} holds a version our schema is not compatible with (registered by \
                     someone else, or this release is older than it); see it: curl -fsS \
                     {url}/subjects/{subject}/versions/latest"
                ),
                format!(
                    "if that version is the mistake, soft-delete it (records written with it stay \
                     readable) and restart: curl -fsS {AUTH} -X DELETE \
                     {url}/subjects/{subject}/versions/VERSION"
                ),
                format!(
                    "if the change is meant, relax the subject's level, restart, then remove the \
                     override: curl -fsS {AUTH} -X PUT {JSON} -d '{{\"compatibility\":\"NONE\"}}' \
                     {url}/config/{subject}, and afterwards curl -fsS {AUTH} -X DELETE \
                     {url}/config/{subject} (consumers must still read every version)"
                ),
            ],
            (404, SchemaStep::Lookup) => vec![
                format!(
                    "{subject} does not hold our schema: the subject or the version was deleted, \
                     or it was never registered; registering the schema again brings a \
                     soft-deleted subject back, and records already written keep their schema ids"
                ),
                format!(
                    "restart once with schema_registry.auto_register = true and {CREDENTIAL}, or \
                     {register}"
                ),
            ],
            (422, _) => vec![format!(
                "the registry finds the schema itself invalid: check that schema_registry.url \
                 ({url}) is a Confluent-compatible registry that accepts Avro; the schema is \
                 schemas/avro/{} of this release",
                avsc(self.contract)
            )],
            _ => vec![
                format!(
                    "check that schema_registry.url ({url}) is a Confluent-compatible schema \
                     registry (curl -fsS {url}/subjects answers a list), and what it holds: curl \
                     -fsS {url}/subjects/{subject}/versions"
                ),
                format!("then {register}"),
            ],
        }
    }
}

/// The file of a contract under `schemas/avro/`.
fn avsc(contract: Contract) -> &'static str {
    match contract {
        Contract::Command => "command.avsc",
        Contract::Event => "event.avsc",
        Contract::UserState => "user-state.avsc",
        Contract::CommandResult => "command-result.avsc",
        Contract::PublicEvent => "public-event.avsc",
    }
}

/// Runs the read-model migrations.
/// The read models' migrations, and the accounts' tables.
pub async fn migrate(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    balados_materializer::MIGRATOR.run(pool).await?;
    balados_accounts::Accounts::new(pool.clone())
        .migrate()
        .await?;
    Ok(())
}

/// The token verifier: the operator's apps (key directory) first, then the apps users authorized
/// (`grants`, kept current by [`follow_grants`]); verified tokens remembered unless the settings
/// say otherwise.
pub fn verifier(
    settings: &Settings,
    grants: Arc<GrantCache>,
) -> anyhow::Result<Arc<dyn TokenVerifier>> {
    let dir = &settings.auth.app_keys_dir;
    let operator = match StaticKeyVerifier::from_dir(dir) {
        Ok(operator) => operator,
        Err(KeyLoadError::Io { .. }) if !dir.exists() => {
            tracing::info!(auth.app_keys_dir = %dir.display(), "no operator app keys: only apps users authorize are accepted");
            StaticKeyVerifier::new(Default::default())
        }
        Err(e) => anyhow::bail!("{e} (setting auth.app_keys_dir)"),
    };
    let verifier: Arc<dyn TokenVerifier> = Arc::new(OperatorThenGranted {
        operator,
        granted: GrantedVerifier::new(grants),
    });
    if !settings.auth.cache_verified_tokens {
        return Ok(verifier);
    }
    // Apps reuse a token for many requests: its RSA verification is done once, then remembered
    // until the token expires or its grant changes (at most this many tokens at a time).
    Ok(Arc::new(CachedVerifier::new(verifier, VERIFIED_TOKENS)))
}

/// Verified tokens remembered at once (about 200 bytes each).
const VERIFIED_TOKENS: usize = 100_000;

/// The users' app authorizations, read once (before the API answers), then followed every
/// [`balados_accounts::REFRESH`] until `stop`: a revocation reaches every instance within about a
/// second.
pub async fn follow_grants(
    pool: sqlx::PgPool,
) -> anyhow::Result<(Arc<GrantCache>, impl Future<Output = ()>)> {
    let grants = Arc::new(GrantCache::default());
    grants.refresh(&pool).await?;
    let cache = grants.clone();
    let follow = async move {
        let mut failing = false;
        loop {
            tokio::time::sleep(balados_accounts::REFRESH).await;
            match cache.refresh(&pool).await {
                Ok(_) => failing = false,
                // Said once per outage: the grants known stay in force meanwhile.
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "cannot read app authorizations; retrying (revocations wait)");
                }
                Err(_) => {}
            }
        }
    };
    Ok((grants, follow))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(step: SchemaStep, with_credential: bool) -> Refused<'static> {
        Refused {
            url: "http://registry:8081/",
            contract: Contract::Event,
            subject: "balados.events.v1-value",
            step,
            with_credential,
        }
    }

    fn answer(status: u16, code: i64, message: &str) -> RegistryError {
        RegistryError::Refused {
            status,
            code,
            message: message.to_owned(),
        }
    }

    #[test]
    fn a_missing_credential_names_the_subject_the_answer_and_the_settings() {
        let message = refused(SchemaStep::Register, false).explain(&answer(
            401,
            40101,
            "Unauthorized: need the credential",
        ));
        for expected in [
            "our Event schema was refused by the schema registry at http://registry:8081",
            "registering it under subject balados.events.v1-value",
            "error_code 40101",
            "Unauthorized: need the credential",
            "sent no credential",
            "BALADOS__SCHEMA_REGISTRY__OPERATOR_PASSWORD",
            "schema_registry.auto_register = false",
            "schemas/avro/event.avsc",
            "http://registry:8081/subjects/balados.events.v1-value/versions",
        ] {
            assert!(message.contains(expected), "{expected:?} in:\n{message}");
        }
    }

    #[test]
    fn a_wrong_credential_is_told_apart_from_a_missing_one() {
        let message = refused(SchemaStep::Register, true).explain(&answer(401, 40101, "no"));
        assert!(
            message.contains("did not accept our credential"),
            "{message}"
        );
        assert!(!message.contains("sent no credential"), "{message}");
    }

    #[test]
    fn an_incompatible_version_says_how_to_see_delete_or_relax_it() {
        let message =
            refused(SchemaStep::Register, true).explain(&answer(409, 409, "incompatible: pos"));
        for expected in [
            "incompatible: pos",
            "curl -fsS http://registry:8081/subjects/balados.events.v1-value/versions/latest",
            "-X DELETE http://registry:8081/subjects/balados.events.v1-value/versions/VERSION",
            "http://registry:8081/config/balados.events.v1-value",
        ] {
            assert!(message.contains(expected), "{expected:?} in:\n{message}");
        }
    }

    #[test]
    fn a_deleted_subject_says_that_registering_again_brings_it_back() {
        let message = refused(SchemaStep::Lookup, false).explain(&answer(
            404,
            40401,
            "Subject 'balados.events.v1-value' not found.",
        ));
        for expected in [
            "looking it up under subject balados.events.v1-value",
            "soft-deleted subject back",
            "schema_registry.auto_register = true",
            "jq -Rs",
        ] {
            assert!(message.contains(expected), "{expected:?} in:\n{message}");
        }
    }

    #[test]
    fn refused_writes_point_at_the_registry_setting() {
        let message = refused(SchemaStep::Register, true).explain(&answer(403, 40301, "disabled"));
        assert!(
            message.contains("without schema_registry.operator_password"),
            "{message}"
        );
    }
}

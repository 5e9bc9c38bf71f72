//! Decoding with the registry's help, waiting out its outages: a valid record is never
//! quarantined or skipped because the registry could not be asked for a moment.

use apache_avro::types::Value;
use balados_schemas::{Codec, CodecError, Contract};
use std::time::Duration;

/// The record's value; `Err` only when the record itself is malformed.
pub async fn decode_waiting(
    codec: &Codec,
    contract: Contract,
    bytes: &[u8],
) -> Result<Value, String> {
    let mut delay = Duration::from_millis(200);
    loop {
        match codec.decode(contract, bytes).await {
            Err(CodecError::Registry(e)) if e.is_transient() => {
                tracing::warn!(error = %e, "schema registry unavailable while decoding; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            other => return other.map_err(|e| e.to_string()),
        }
    }
}

//! Runs the registry alone, for trying it with Confluent clients by hand:
//! `DATABASE_URL=postgres://... OPERATOR_PASSWORD=... cargo run -p balados-schema-registry --example serve -- 127.0.0.1:8081`
//! Writes then need HTTP Basic auth as `operator:$OPERATOR_PASSWORD`; without the variable they are
//! refused. Reads are open either way.

use balados_schema_registry::{OperatorCredential, Registry, WriteAccess, serve};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| "set DATABASE_URL to the PostgreSQL database of the registry")?;
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_owned());
    let writes = match std::env::var("OPERATOR_PASSWORD") {
        Ok(password) => {
            WriteAccess::Operator(OperatorCredential::new("operator", &password.into()))
        }
        Err(_) => {
            println!("OPERATOR_PASSWORD is not set: writes are refused, reads are open");
            WriteAccess::Refused
        }
    };
    let pool = sqlx::PgPool::connect(&url).await?;
    Registry::migrate(&pool).await?;
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!(
        "schema registry listening on http://{}",
        listener.local_addr()?
    );
    serve(listener, Registry::new(pool, writes)).await?;
    Ok(())
}

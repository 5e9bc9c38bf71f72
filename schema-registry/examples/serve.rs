//! Runs the registry alone, for trying it with Confluent clients by hand:
//! `DATABASE_URL=postgres://... cargo run -p balados-schema-registry --example serve -- 127.0.0.1:8081`

use balados_schema_registry::{Registry, serve};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| "set DATABASE_URL to the PostgreSQL database of the registry")?;
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_owned());
    let pool = sqlx::PgPool::connect(&url).await?;
    Registry::migrate(&pool).await?;
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!(
        "schema registry listening on http://{}",
        listener.local_addr()?
    );
    serve(listener, Registry::new(pool)).await?;
    Ok(())
}

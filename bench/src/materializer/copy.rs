//! The yardstick: a bare `COPY … FROM STDIN` of exactly the rows the materializer wrote, into
//! empty copies of its tables (same columns, constraints and indexes) in a scratch schema of the
//! same database. Every non-empty table of the read-model schemas counts, whatever tables the
//! materializer grows; the rows are exported first (untimed), then copied in, timed, one table
//! after the other on one connection, each COPY its own transaction.

use crate::procstat::PgCpu;
use futures::TryStreamExt as _;
use sqlx::{AssertSqlSafe, PgConnection};
use std::time::{Duration, Instant};

/// The schemas of the read models; one that does not exist yet is simply absent.
const SCHEMAS: [&str; 2] = ["users", "site"];
const SCRATCH: &str = "bench_copy";

#[derive(Debug)]
struct Table {
    name: String,
    /// Its stored columns: generated ones (the id digests) are computed again on the way in, as
    /// the materializer's writes compute them.
    columns: String,
    rows: u64,
    data: Vec<u8>,
}

#[derive(Debug)]
struct Copied {
    format: &'static str,
    elapsed: Duration,
    /// CPU of the database's PostgreSQL backends during the COPY.
    pg_cpu: Duration,
}

/// Exports every non-empty read-model table in `format` (`binary` or `text`).
async fn export(conn: &mut PgConnection, format: &str) -> anyhow::Result<Vec<Table>> {
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
         WHERE table_schema = ANY($1) AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .bind(SCHEMAS)
    .fetch_all(&mut *conn)
    .await?;
    let mut tables = Vec::new();
    for (name,) in names {
        let (rows,): (i64,) = sqlx::query_as(AssertSqlSafe(format!("SELECT count(*) FROM {name}")))
            .fetch_one(&mut *conn)
            .await?;
        if rows == 0 {
            continue;
        }
        let (columns,): (String,) = sqlx::query_as(
            "SELECT string_agg(format('%I', attname), ', ' ORDER BY attnum) FROM pg_attribute
             WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
               AND attgenerated = ''",
        )
        .bind(&name)
        .fetch_one(&mut *conn)
        .await?;
        let mut data = Vec::new();
        let mut stream = conn
            .copy_out_raw(&format!(
                "COPY (SELECT {columns} FROM {name}) TO STDOUT WITH (FORMAT {format})"
            ))
            .await?;
        while let Some(chunk) = stream.try_next().await? {
            data.extend_from_slice(&chunk);
        }
        drop(stream);
        tables.push(Table {
            name,
            columns,
            rows: u64::try_from(rows).unwrap_or(0),
            data,
        });
    }
    Ok(tables)
}

/// Empty copies of `tables` in the scratch schema, named `schema__table`.
async fn prepare(conn: &mut PgConnection, tables: &[Table]) -> anyhow::Result<()> {
    let mut ddl = format!("DROP SCHEMA IF EXISTS {SCRATCH} CASCADE; CREATE SCHEMA {SCRATCH};");
    for t in tables {
        ddl.push_str(&format!(
            "CREATE TABLE {} (LIKE {} INCLUDING ALL);",
            scratch_name(&t.name),
            t.name
        ));
    }
    // Start from a clean slate: no checkpoint pending from the materializer's writes.
    ddl.push_str("CHECKPOINT;");
    sqlx::raw_sql(AssertSqlSafe(ddl))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn scratch_name(table: &str) -> String {
    format!(
        "{SCRATCH}.\"{}\"",
        table.replace('.', "__").replace('"', "")
    )
}

/// Copies `tables` (exported in `format`) into their empty scratch copies, timed.
async fn copy_in(
    conn: &mut PgConnection,
    database: &str,
    tables: &[Table],
    format: &'static str,
) -> anyhow::Result<Copied> {
    let pg = PgCpu::sample(database);
    let started = Instant::now();
    for t in tables {
        let mut copy = conn
            .copy_in_raw(&format!(
                "COPY {} ({}) FROM STDIN WITH (FORMAT {format})",
                scratch_name(&t.name),
                t.columns
            ))
            .await?;
        copy.send(t.data.as_slice()).await?;
        let rows = copy.finish().await?;
        anyhow::ensure!(
            rows == t.rows,
            "{}: copied {rows} of {} rows",
            t.name,
            t.rows
        );
    }
    let elapsed = started.elapsed();
    let (pg_cpu, _) = PgCpu::sample(database).since(&pg);
    Ok(Copied {
        format,
        elapsed,
        pg_cpu,
    })
}

/// Times the COPY of the materializer's rows in both formats, and prints them beside
/// `materializer`, the time it took to write them.
pub async fn compare(
    conn: &mut PgConnection,
    database: &str,
    materializer: Duration,
) -> anyhow::Result<()> {
    for format in ["binary", "text"] {
        let tables = export(conn, format).await?;
        if format == "binary" {
            let rows: u64 = tables.iter().map(|t| t.rows).sum();
            println!("rows written: {rows}, in every non-empty table of {SCHEMAS:?}:");
            for t in &tables {
                println!("  {:<40} {:>10}", t.name, t.rows);
            }
        }
        prepare(conn, &tables).await?;
        let copied = copy_in(conn, database, &tables, format).await?;
        let rows: u64 = tables.iter().map(|t| t.rows).sum();
        println!(
            "bare COPY ({}) of those rows into empty copies of their tables: {:.2} s = {:.0} rows/s, PostgreSQL CPU {:.2} s; the materializer took {:.1}× as long",
            copied.format,
            copied.elapsed.as_secs_f64(),
            rows as f64 / copied.elapsed.as_secs_f64(),
            copied.pg_cpu.as_secs_f64(),
            materializer.as_secs_f64() / copied.elapsed.as_secs_f64()
        );
    }
    Ok(())
}

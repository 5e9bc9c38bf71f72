//! End-to-end tests: the `balados` binary (built by `./dev/test`) started as real processes
//! against the real broker and PostgreSQL that `./dev/test` starts, each test with its own topic
//! prefix, database and ports (port 0), so tests run in parallel.
//!
//! Environment: `BALADOS_TEST_KAFKA_BOOTSTRAP` (default 127.0.0.1:19092),
//! `BALADOS_TEST_DATABASE_URL` (an admin URL; default postgres://balados:balados@127.0.0.1:5432/postgres),
//! `BALADOS_TEST_PYTHON` (a Python with confluent-kafka, fastavro, websocket-client and mygpoclient; default
//! .dev/venv/bin/python),
//! `BALADOS_BIN` (default: the `balados` binary next to this test's target directory).

mod abuse;
mod account_deletion;
mod accounts;
mod aggregate;
mod broker_faults;
mod browser;
mod crash;
mod dead_letters;
mod fair_use;
mod fault;
mod gpodder;
mod gpodder_since;
mod helpers;
mod hostile;
mod independent_client;
mod infra;
mod monitoring;
mod nextcloud;
mod outcomes;
mod partition_growth;
mod play_gateway;
mod private_feeds;
mod prune;
mod quarantine;
mod read_models;
mod read_side;
mod rebuild;
mod restore_check;
mod rolling_restart;
mod sequence_gaps;
mod shutdown;
mod startup;
mod subscriptions;
mod sync;
mod toolbox;
mod two_writers;

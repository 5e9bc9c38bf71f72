//! Property tests of every parser of external input in this crate, fed arbitrary and damaged
//! bytes: the ids of URLs and bodies, and the records read from the topics. They must answer an
//! error, never panic, and give back what was encoded. The default case count keeps the run to a
//! few seconds; `PROPTEST_CASES=100000 cargo test -p balados-schemas --test fuzz` runs longer
//! (docs/testing.md).

mod avro;
mod generate;
mod ids;

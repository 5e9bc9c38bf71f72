//! Decoding a record read from a topic allocates in proportion to the record, whatever its length
//! prefixes claim: apache-avro allocates what a length says before reading, so without the bounds
//! check a few bytes claiming a 400 MiB string reserved 400 MiB. Alone in its test binary, because
//! it watches the process's peak of virtual memory (Linux), which another test's allocations would
//! move.

use apache_avro::Schema;
use balados_schemas::Contract;
use balados_schemas::codec::read_datum;

/// The process's peak of virtual memory, in KiB.
fn vm_peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmPeak:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmPeak line")
}

/// Zig-zag varint, as Avro writes a length.
fn varint(n: i64) -> Vec<u8> {
    let mut z = ((n << 1) ^ (n >> 63)).cast_unsigned();
    let mut out = Vec::new();
    while z >= 0x80 {
        out.push(u8::try_from(z & 0x7f).expect("7 bits") | 0x80);
        z >>= 7;
    }
    out.push(u8::try_from(z).expect("7 bits"));
    out
}

#[test]
fn a_few_bytes_claiming_400_mib_never_reserve_it() {
    const CLAIM: i64 = 400 << 20;
    let before = vm_peak_kib();
    for contract in Contract::ALL {
        let schema = Schema::parse_str(contract.schema_text()).expect("parses");
        // The claim at every position of a run of small valid-looking prefixes: wherever the
        // decoder expects a length (a string, an array block), it meets 400 MiB.
        for prefix in 0..24u8 {
            let mut datum: Vec<u8> = (0..prefix).map(|i| (i % 3) * 2).collect();
            datum.extend(varint(CLAIM));
            datum.extend_from_slice(b"abc");
            let _refused = read_datum(&schema, None, &mut datum.as_slice());
        }
    }
    let grown_mib = vm_peak_kib().saturating_sub(before) / 1024;
    assert!(
        grown_mib < 64,
        "decoding a few bytes raised the peak of virtual memory by {grown_mib} MiB"
    );
}

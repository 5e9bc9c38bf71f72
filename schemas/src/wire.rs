//! The Confluent wire format: magic byte 0, the schema id as a big-endian u32, then the Avro
//! binary datum.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("value shorter than the 5-byte Confluent header")]
    TooShort,
    #[error("unknown magic byte {0} (expected 0)")]
    BadMagic(u8),
}

pub const MAGIC: u8 = 0;

pub fn frame(schema_id: u32, datum: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + datum.len());
    out.push(MAGIC);
    out.extend_from_slice(&schema_id.to_be_bytes());
    out.extend_from_slice(datum);
    out
}

/// Splits a framed value into its schema id and datum.
pub fn unframe(bytes: &[u8]) -> Result<(u32, &[u8]), WireError> {
    let (header, datum) = bytes.split_at_checked(5).ok_or(WireError::TooShort)?;
    if header[0] != MAGIC {
        return Err(WireError::BadMagic(header[0]));
    }
    let id = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
    Ok((id, datum))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let framed = frame(0x0102_0304, b"abc");
        assert_eq!(framed, [0, 1, 2, 3, 4, b'a', b'b', b'c']);
        assert_eq!(unframe(&framed), Ok((0x0102_0304, &b"abc"[..])));
    }

    #[test]
    fn malformed_frames_are_rejected() {
        assert_eq!(unframe(&[0, 0, 0]), Err(WireError::TooShort));
        assert_eq!(unframe(&[7, 0, 0, 0, 1]), Err(WireError::BadMagic(7)));
    }
}

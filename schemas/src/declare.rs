//! Each union and record of the contracts is declared once, and its Avro mapping follows:
//! [`avro_union!`] writes the enum, its `kind()` and its [`AvroField`] mapping from one list of
//! branches; [`avro_record!`] writes a struct with its `to_avro` and `from_avro`. A field's layout
//! in its record follows its type (see [`crate::mapping`]); fields are declared in the order of
//! the `.avsc`. A branch may have no field (`DeleteAccount {}`): the envelope says it all.
//!
//! A branch reads `NUMBER Variant [as AvroRecordName] "kind" { fields }`: its index in the `.avsc`
//! union (what the encoder writes; readers of other versions match branches by record name, see
//! [`crate::resolve`]), the variant, the Avro record's name when it differs from the variant's,
//! and the short stable name for logs and metrics. The tests below check every declaration
//! against its `.avsc`: each branch once, with its number, record name and fields.
//!
//! [`AvroField`]: crate::mapping::AvroField

macro_rules! avro_union {
    (
        $(#[$meta:meta])*
        $vis:vis enum $union:ident {
            $(
                $(#[$vmeta:meta])*
                $number:literal $variant:ident $(as $record:ident)? $kind:literal {
                    $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)?
                }
            )+
        }
    ) => {
        $(#[$meta])*
        $vis enum $union {
            $( $(#[$vmeta])* $variant { $( $(#[$fmeta])* $field: $ty ),* }, )+
        }

        impl $union {
            /// A short stable name, for logs and metrics.
            pub fn kind(&self) -> &'static str {
                match self {
                    $( Self::$variant { .. } => $kind, )+
                }
            }

            #[cfg(test)]
            pub(crate) fn branches() -> Vec<$crate::declare::Branch> {
                vec![$( $crate::declare::Branch {
                    number: $number,
                    record: $crate::declare::avro_union!(@record $variant $($record)?),
                    kind: $kind,
                    fields: <[Vec<&'static str>]>::concat(&[
                        $( $crate::mapping::field_names::<$ty>(stringify!($field)) ),*
                    ]),
                }, )+]
            }
        }

        /// The union's value: its branch number and the record of the variant's fields.
        impl $crate::mapping::AvroField for $union {
            fn to_value(&self) -> ::apache_avro::types::Value {
                use ::apache_avro::types::Value;
                let (branch, record) = match self {
                    $( Self::$variant { $($field),* } => {
                        let widths: &[usize] = &[$( $crate::mapping::width::<$ty>() ),*];
                        // Not `expect`: only a branch without fields leaves it unfilled.
                        #[allow(unused_mut, reason = "a branch without fields puts nothing")]
                        let mut record = Vec::with_capacity(widths.iter().sum());
                        $( $crate::mapping::AvroField::put($field, stringify!($field), &mut record); )*
                        ($number, record)
                    } )+
                };
                Value::Union(branch, Box::new(Value::Record(record)))
            }

            fn from_value(
                value: ::apache_avro::types::Value,
                name: &str,
            ) -> Result<Self, $crate::avro::ShapeError> {
                use $crate::avro::{Fields, ShapeError};
                let (branch, mut fields) = match value {
                    ::apache_avro::types::Value::Union(branch, record) => {
                        (branch, Fields::of(*record)?)
                    }
                    other => {
                        return Err(ShapeError(format!("{name}: expected a union, found {other:?}")));
                    }
                };
                Ok(match branch {
                    $( $number => Self::$variant {
                        $( $field: fields.get(stringify!($field))?, )*
                    }, )+
                    other => {
                        let union = stringify!($union);
                        return Err(ShapeError(format!("{name}: unknown {union} branch {other}")));
                    }
                })
            }
        }
    };
    (@record $variant:ident) => { stringify!($variant) };
    (@record $variant:ident $record:ident) => { stringify!($record) };
}

macro_rules! avro_record {
    (
        $(#[$meta:meta])*
        $vis:vis struct $record:ident {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $record {
            $( $(#[$fmeta])* $fvis $field: $ty, )+
        }

        impl $record {
            pub fn to_avro(&self) -> ::apache_avro::types::Value {
                let widths = [$( $crate::mapping::width::<$ty>() ),+];
                let mut record = Vec::with_capacity(widths.iter().sum());
                $( $crate::mapping::AvroField::put(&self.$field, stringify!($field), &mut record); )+
                ::apache_avro::types::Value::Record(record)
            }

            pub fn from_avro(
                value: ::apache_avro::types::Value,
            ) -> Result<Self, $crate::avro::ShapeError> {
                let mut fields = $crate::avro::Fields::of(value)?;
                Ok(Self {
                    $( $field: fields.get(stringify!($field))?, )+
                })
            }

            #[cfg(test)]
            pub(crate) fn avro_fields() -> Vec<&'static str> {
                [$( $crate::mapping::field_names::<$ty>(stringify!($field)) ),+].concat()
            }
        }
    };
}

pub(crate) use {avro_record, avro_union};

/// A declared branch, for the tests.
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct Branch {
    pub number: u32,
    pub record: &'static str,
    pub kind: &'static str,
    pub fields: Vec<&'static str>,
}

#[cfg(test)]
mod tests;

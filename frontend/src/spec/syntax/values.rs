//! How the spec's values are read: ordered maps (with a bound on the
//! number of stages), commands, path lists, modes and ports.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Mode, OneOrMany, Port, Scalar};
use crate::spec::model::{Command, Pos};

/// An ordered mapping (stages, env, labels): YAML order is kept, because
/// stage order and env order mean something. Duplicate keys are rejected by
/// the YAML reader itself.
#[derive(Debug)]
pub struct Map<V>(pub Vec<(Spanned<String>, V)>);

// Values are always `Spanned`; the schema describes what is inside.
impl<T: JsonSchema> JsonSchema for Map<Spanned<T>> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Map_of_{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let values = generator.subschema_for::<T>();
        schemars::json_schema!({"type": "object", "additionalProperties": values})
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Map<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        de::DeserializeSeed::deserialize(CappedMap::new(usize::MAX, None), deserializer)
    }
}

/// More stages than any hand-written spec has; the bound keeps checking
/// and compiling (which follow stage dependencies) cheap.
pub const MAX_STAGES: usize = 1_000;

/// Reads a [`Map`] of at most `max` entries, refusing the next one as soon
/// as it is seen, so an oversized map costs no more than `max` entries.
/// The reader would place the error at the map's start, so where the
/// entry too many is written goes to `over`.
pub(super) struct CappedMap<'c, V> {
    max: usize,
    over: Option<&'c Cell<Option<Pos>>>,
    values: PhantomData<V>,
}

impl<'c, V> CappedMap<'c, V> {
    pub fn new(max: usize, over: Option<&'c Cell<Option<Pos>>>) -> Self {
        CappedMap {
            max,
            over,
            values: PhantomData,
        }
    }
}

impl<'de, V: Deserialize<'de>> de::DeserializeSeed<'de> for CappedMap<'_, V> {
    type Value = Map<V>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Map<V>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, V: Deserialize<'de>> Visitor<'de> for CappedMap<'_, V> {
    type Value = Map<V>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Map<V>, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            if entries.len() == self.max {
                if let Some(over) = self.over {
                    over.set(Some(Pos {
                        line: key.referenced.line() as u32,
                        column: key.referenced.column() as u32,
                    }));
                }
                return Err(de::Error::custom(format!("more than {} entries", self.max)));
            }
            entries.push((key, map.next_value()?));
        }
        Ok(Map(entries))
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CommandVisitor;
        impl<'de> Visitor<'de> for CommandVisitor {
            type Value = Command;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a command string or a list of arguments")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Command, E> {
                Ok(Command::Shell(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Command, A::Error> {
                string_list(seq).map(Command::Exec)
            }
        }
        deserializer.deserialize_any(CommandVisitor)
    }
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a path or a list of paths")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<OneOrMany, A::Error> {
                string_list(seq).map(OneOrMany)
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

fn string_list<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Vec<String>, A::Error> {
    let mut items = Vec::new();
    while let Some(item) = seq.next_element::<String>()? {
        items.push(item);
    }
    Ok(items)
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ModeVisitor;
        impl<'de> Visitor<'de> for ModeVisitor {
            type Value = Mode;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("octal permission bits such as \"0755\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Mode, E> {
                parse_octal_mode(v).map(Mode).ok_or_else(|| {
                    E::custom(format!(
                        "{INVALID_MODE} `{v}`: expected octal permission bits such as \"0755\""
                    ))
                })
            }
            // YAML reads `755` as the integer 755; users mean octal.
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Mode, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Mode, E> {
                self.visit_str(&v.to_string())
            }
        }
        deserializer.deserialize_any(ModeVisitor)
    }
}

/// How our mode reader's error starts (the YAML reader passes custom
/// errors on as text; this is the words it gets the hint by).
pub const INVALID_MODE: &str = "invalid mode";

fn parse_octal_mode(text: &str) -> Option<u32> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    if digits.is_empty() || digits.len() > 4 {
        return None;
    }
    u32::from_str_radix(digits, 8).ok()
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PortVisitor;
        impl<'de> Visitor<'de> for PortVisitor {
            type Value = Port;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a port such as 8080 or \"53/udp\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Port, E> {
                Ok(Port(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Port, E> {
                Ok(Port(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Port, E> {
                Ok(Port(v.to_string()))
            }
        }
        deserializer.deserialize_any(PortVisitor)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a word or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

//! The Arrow schema of a corpus record, derived from its JSON Schema
//! ([`crate::model::corpus_record_schema`]), which is itself generated from the Rust type: the
//! Parquet columns and the published JSON Schema therefore cannot drift apart.
//!
//! Mapping: `string` → `Utf8` (`date-time` → `Timestamp(µs, UTC)`, `date` → `Date32`,
//! `partial-date-time`, a wall-clock time without offset, → `Timestamp(µs)`), string
//! enums, source ids and `language` → `Dictionary(Int32, Utf8)`, `integer` → `Int64`/`UInt32`/
//! `UInt64` by format, `number` → `Float64`, `boolean`, `array` → `List`, `object` → `Struct`.
//! A property is nullable unless it is required and its type admits no `null`.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use serde_json::{Map, Value};

/// The schema could not be mapped (a construct the record type never produces).
#[derive(Debug, thiserror::Error)]
#[error("cannot map JSON Schema at `{path}` to Arrow: {what}")]
pub struct SchemaError {
    /// Dotted path of the property.
    pub path: String,
    /// What was not understood.
    pub what: String,
}

/// Strings that take few distinct values besides enums and source ids.
const LOW_CARDINALITY: &[&str] = &["language"];

/// The Arrow schema the Parquet export writes.
///
/// # Errors
/// [`SchemaError`] when the record's JSON Schema holds a construct this mapping lacks.
pub fn arrow_schema() -> Result<Schema, SchemaError> {
    let text = crate::model::corpus_record_schema();
    let root: Value = serde_json::from_str(&text).map_err(|e| SchemaError {
        path: String::new(),
        what: e.to_string(),
    })?;
    let empty = Map::new();
    let defs = root
        .get("$defs")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    Ok(Schema::new(object_fields(&root, defs, "")?))
}

/// The same schema with every dictionary replaced by its value type: what the JSON decoder
/// fills before the columns are cast to [`arrow_schema`].
pub fn decode_type(t: &DataType) -> DataType {
    match t {
        DataType::Dictionary(_, value) => decode_type(value),
        DataType::List(f) => DataType::List(Arc::new(plain_field(f))),
        DataType::Struct(fields) => {
            DataType::Struct(fields.iter().map(|f| plain_field(f)).collect())
        }
        other => other.clone(),
    }
}

fn plain_field(f: &Field) -> Field {
    Field::new(f.name(), decode_type(f.data_type()), f.is_nullable())
}

fn object_fields(
    node: &Value,
    defs: &Map<String, Value>,
    path: &str,
) -> Result<Fields, SchemaError> {
    let empty = Map::new();
    let props = node
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required: Vec<&str> = node
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut fields = Vec::with_capacity(props.len());
    for (name, prop) in props {
        let sub = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        let (t, nullable) = data_type(prop, defs, &sub, name)?;
        fields.push(Field::new(
            name,
            t,
            nullable || !required.contains(&name.as_str()),
        ));
    }
    Ok(fields.into())
}

/// Arrow type of one schema node, and whether it admits `null`.
fn data_type(
    node: &Value,
    defs: &Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<(DataType, bool), SchemaError> {
    let err = |what: &str| SchemaError {
        path: path.to_owned(),
        what: what.to_owned(),
    };
    if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        let def_name = r.rsplit('/').next().unwrap_or(r);
        let def = defs
            .get(def_name)
            .ok_or_else(|| err(&format!("unknown $ref {r}")))?;
        let (t, nullable) = data_type(def, defs, path, name)?;
        return Ok((
            if def_name == "SourceId" {
                dictionary()
            } else {
                t
            },
            nullable,
        ));
    }
    if let Some(any) = node.get("anyOf").and_then(Value::as_array) {
        let non_null: Vec<&Value> = any.iter().filter(|v| !is_null_type(v)).collect();
        let [one] = non_null.as_slice() else {
            return Err(err("anyOf of several types"));
        };
        let (t, _) = data_type(one, defs, path, name)?;
        return Ok((t, non_null.len() < any.len()));
    }
    if let Some(one_of) = node.get("oneOf").and_then(Value::as_array) {
        let all_consts = one_of
            .iter()
            .all(|v| v.get("const").is_some_and(Value::is_string));
        return if all_consts {
            Ok((dictionary(), false))
        } else {
            Err(err("oneOf of non-constants"))
        };
    }
    if node.get("enum").is_some() {
        return Ok((dictionary(), false));
    }
    let (ty, nullable) = match node.get("type") {
        Some(Value::String(s)) => (s.as_str(), false),
        Some(Value::Array(types)) => {
            let non_null: Vec<&str> = types
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect();
            let [one] = non_null.as_slice() else {
                return Err(err("several types"));
            };
            (*one, non_null.len() < types.len())
        }
        _ => return Err(err("no type")),
    };
    let format = node.get("format").and_then(Value::as_str).unwrap_or("");
    let t = match (ty, format) {
        ("string", "date-time") => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ("string", "date") => DataType::Date32,
        ("string", "partial-date-time") => DataType::Timestamp(TimeUnit::Microsecond, None),
        ("string", _) if LOW_CARDINALITY.contains(&name) => dictionary(),
        ("string", _) => DataType::Utf8,
        ("integer", "uint32" | "uint16" | "uint8") => DataType::UInt32,
        ("integer", "uint64" | "uint") => DataType::UInt64,
        ("integer", _) => DataType::Int64,
        ("number", _) => DataType::Float64,
        ("boolean", _) => DataType::Boolean,
        ("array", _) => {
            let items = node
                .get("items")
                .ok_or_else(|| err("array without items"))?;
            let (item, item_null) = data_type(items, defs, &format!("{path}[]"), name)?;
            DataType::List(Arc::new(Field::new("item", item, item_null)))
        }
        ("object", _) => DataType::Struct(object_fields(node, defs, path)?),
        (other, _) => return Err(err(&format!("type {other}"))),
    };
    Ok((t, nullable))
}

fn dictionary() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

fn is_null_type(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

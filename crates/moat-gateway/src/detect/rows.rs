//! The rows of a `tabular` request, in the shapes model servers take: `{"rows": [...]}`,
//! `{"instances": [...]}` (TensorFlow Serving, Vertex), `{"inputs": [...]}` (KServe v1,
//! SageMaker), `{"data": [...]}`, MLflow's `{"dataframe_split": {"columns", "data"}}` and
//! `{"dataframe_records": [...]}`, or a bare array; each row an array (values in the
//! profile's column order) or an object (values by column name). At most
//! [`MAX_ROWS`] rows and [`MAX_VALUES`] values a row are read.

use serde_json::Value as Json;

/// Rows read from one request at most.
pub const MAX_ROWS: usize = 10_000;
/// Values read from one row at most.
pub const MAX_VALUES: usize = 1_000;

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Number(f64),
    Text(String),
    Bool(bool),
    /// An array or object where a value belongs.
    Nested,
}

/// The rows of a request: named (objects, or MLflow's split form) or positional.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows {
    /// Column names, when the request names them (object rows: each row's own keys).
    pub columns: Option<Vec<String>>,
    /// Per row: `(name, value)` when named, else positional values with empty names.
    pub rows: Vec<Vec<(String, Cell)>>,
    pub named: bool,
    /// The body holds rows under more than one of the known keys: a model server may
    /// read others than the ones inspected.
    pub ambiguous: bool,
    /// Rows or values past the bounds, not read.
    pub truncated: bool,
}

fn cell(v: &Json) -> Cell {
    match v {
        Json::Null => Cell::Null,
        Json::Bool(b) => Cell::Bool(*b),
        Json::Number(n) => n.as_f64().map(Cell::Number).unwrap_or(Cell::Null),
        Json::String(s) => Cell::Text(s.clone()),
        _ => Cell::Nested,
    }
}

impl Rows {
    /// The rows of a JSON body, or `None` when it holds none in a known shape.
    pub fn from_json(body: &Json) -> Option<Rows> {
        if let Some(split) = body.get("dataframe_split") {
            let columns: Vec<String> = split
                .get("columns")?
                .as_array()?
                .iter()
                .take(MAX_VALUES)
                .map(|c| {
                    c.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| c.to_string())
                })
                .collect();
            let data = split.get("data")?.as_array()?;
            let rows = data
                .iter()
                .take(MAX_ROWS)
                .map(|r| {
                    r.as_array()
                        .map(|vals| {
                            columns
                                .iter()
                                .zip(vals)
                                .map(|(c, v)| (c.clone(), cell(v)))
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .collect();
            return Some(Rows {
                columns: Some(columns),
                rows,
                named: true,
                ambiguous: body
                    .as_object()
                    .is_some_and(|o| KEYS.iter().any(|k| o.contains_key(*k))),
                truncated: data.len() > MAX_ROWS,
            });
        }
        let mut ambiguous = false;
        let list = match body {
            Json::Array(a) => a,
            Json::Object(o) => {
                ambiguous = KEYS.iter().filter(|k| o.contains_key(**k)).count() > 1;
                KEYS.iter()
                    .find_map(|k| o.get(*k).and_then(Json::as_array))?
            }
            _ => return None,
        };
        // A single row sent bare (`"inputs": [1, 2, 3]`).
        let single = !list.is_empty() && list.iter().all(|v| !v.is_array() && !v.is_object());
        let items: Vec<&Json> = if single {
            vec![body_row(body).unwrap_or(&Json::Null)]
        } else {
            list.iter().take(MAX_ROWS).collect()
        };
        let mut out = Rows {
            ambiguous,
            truncated: list.len() > MAX_ROWS,
            ..Rows::default()
        };
        for item in items {
            let wide = match item {
                Json::Array(v) => v.len() > MAX_VALUES,
                Json::Object(o) => o.len() > MAX_VALUES,
                _ => false,
            };
            out.truncated |= wide;
            match item {
                Json::Array(vals) => out.rows.push(
                    vals.iter()
                        .take(MAX_VALUES)
                        .map(|v| (String::new(), cell(v)))
                        .collect(),
                ),
                Json::Object(o) => {
                    out.named = true;
                    out.rows.push(
                        o.iter()
                            .take(MAX_VALUES)
                            .map(|(k, v)| (k.clone(), cell(v)))
                            .collect(),
                    );
                }
                _ => out.rows.push(Vec::new()),
            }
        }
        Some(out)
    }

    /// The values of row `i` in `columns`' order (by name when the row is named, else by
    /// position), with the names the row has that `columns` lacks.
    pub fn aligned<'a>(
        &'a self,
        i: usize,
        columns: &[&str],
    ) -> (Vec<Option<&'a Cell>>, Vec<&'a str>) {
        let row = &self.rows[i];
        if self.named {
            let vals = columns
                .iter()
                .map(|c| row.iter().find(|(k, _)| k == c).map(|(_, v)| v))
                .collect();
            let unknown = row
                .iter()
                .filter(|(k, _)| !columns.contains(&k.as_str()))
                .map(|(k, _)| k.as_str())
                .collect();
            (vals, unknown)
        } else {
            let vals = (0..columns.len())
                .map(|j| row.get(j).map(|(_, v)| v))
                .collect();
            (vals, Vec::new())
        }
    }
}

/// The keys rows are read under, in order.
const KEYS: [&str; 5] = ["rows", "instances", "inputs", "data", "dataframe_records"];

/// The whole list of a body that sends one bare row.
fn body_row(body: &Json) -> Option<&Json> {
    match body {
        Json::Array(_) => Some(body),
        Json::Object(o) => KEYS.iter().find_map(|k| o.get(*k)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_shape_gives_the_same_rows() {
        let cols = ["a", "b"];
        for body in [
            json!({"rows": [[1, "x"], [2, "y"]]}),
            json!({"instances": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]}),
            json!({"dataframe_split": {"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}}),
            json!({"dataframe_records": [{"b": "x", "a": 1}, {"a": 2, "b": "y"}]}),
            json!([[1, "x"], [2, "y"]]),
        ] {
            let r = Rows::from_json(&body).expect("rows");
            assert_eq!(r.rows.len(), 2, "{body}");
            let (v, unknown) = r.aligned(1, &cols);
            assert_eq!(
                v,
                [Some(&Cell::Number(2.0)), Some(&Cell::Text("y".into()))],
                "{body}"
            );
            assert!(unknown.is_empty());
        }
        let one = Rows::from_json(&json!({"inputs": [1, 2, 3]})).unwrap();
        assert_eq!(one.rows.len(), 1);
        assert_eq!(one.rows[0].len(), 3);
        let named = Rows::from_json(&json!({"instances": [{"a": 1, "zz": 2}]})).unwrap();
        let (v, unknown) = named.aligned(0, &cols);
        assert_eq!(v, [Some(&Cell::Number(1.0)), None]);
        assert_eq!(unknown, ["zz"]);
        assert!(Rows::from_json(&json!({"messages": []})).is_none());
        let decoy = Rows::from_json(&json!({"rows": [[1, 2]], "instances": [[9, 9]]})).unwrap();
        assert!(decoy.ambiguous && !decoy.truncated);
        let long: Vec<Json> = (0..MAX_ROWS + 1).map(|_| json!([1])).collect();
        assert!(Rows::from_json(&json!({ "rows": long })).unwrap().truncated);
    }

    proptest::proptest! {
        /// Any JSON gives rows or none without panicking, and never more than the bounds.
        #[test]
        fn any_json_is_read_within_bounds(s in "\\PC{0,200}") {
            if let Ok(v) = serde_json::from_str::<Json>(&s) {
                if let Some(r) = Rows::from_json(&v) {
                    proptest::prop_assert!(r.rows.len() <= MAX_ROWS);
                    for i in 0..r.rows.len() {
                        let _ = r.aligned(i, &["a", "b", "c"]);
                    }
                }
            }
        }
    }
}

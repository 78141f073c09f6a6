//! Keras model configs, from Keras v3 `.keras` files (a zip with `config.json`, the model's
//! architecture, beside `metadata.json` and the weights) and from Keras 2 `.h5` files
//! (the `model_config` attribute, see `hdf5`). Loading rebuilds every object the config names:
//! `module` + `class_name` pairs are imported, and `Lambda` layers carry Python
//! functions (marshalled bytecode under `function.config.code`) that run when the
//! model is loaded without safe mode, or called.
//!
//! Findings: a `Lambda` layer (high; critical with bytecode), an object from a module
//! on the deny list (critical), an object from outside Keras and TensorFlow (a custom
//! object: medium, for review).

use serde_json::Value;

use crate::checks::globals::{judge, Judgement};
use crate::finding::{Finding, Rule, Severity};

/// Modules whose objects a Keras model may name without review.
const KERAS_MODULES: &[&str] = &[
    "keras",
    "tensorflow",
    "tf_keras",
    "keras_nlp",
    "keras_cv",
    "keras_hub",
];

fn trusted(module: &str) -> bool {
    let top = module.split('.').next().unwrap_or(module);
    KERAS_MODULES.contains(&top)
}

fn walk(v: &Value, path: &str, out: &mut Vec<Finding>) {
    match v {
        Value::Object(map) => {
            let class = map.get("class_name").and_then(Value::as_str);
            // A function serialised on its own (an activation, a loss): marshalled
            // bytecode that Keras rebuilds with `func_load`.
            if class == Some("__lambda__") {
                out.push(Finding {
                    severity: Severity::Critical,
                    rule: Rule::DangerousGlobal,
                    message: format!("`{path}` is a Python function stored as marshalled bytecode: it runs when the model is loaded without safe mode, or called"),
                    offset: 0,
                });
                return;
            }
            // Keras 3 names plain functions by module and name (`class_name`
            // "function", the name in `config`): that function is imported.
            if let (Some("function"), Some(module), Some(Value::String(f))) = (
                class,
                map.get("module").and_then(Value::as_str),
                map.get("config"),
            ) {
                if let Judgement::Dangerous(sev, why) | Judgement::Deserializer(sev, why) =
                    judge(module, f)
                {
                    out.push(Finding {
                        severity: sev,
                        rule: Rule::DangerousGlobal,
                        message: format!("`{path}` is the function `{module}.{f}`, which {why}"),
                        offset: 0,
                    });
                    return;
                }
            }
            let class = class.map(|c| c.rsplit('.').next().unwrap_or(c));
            let module = map.get("module").and_then(Value::as_str);
            let name = map
                .get("config")
                .and_then(|c| c.get("name"))
                .and_then(Value::as_str)
                .unwrap_or(path);
            if class == Some("Lambda") {
                let config = map.get("config");
                let function = config.and_then(|c| c.get("function"));
                // Keras 3: {"class_name": "__lambda__", "config": {"code": …}}; Keras 2:
                // ["<base64 marshal>", defaults, closure] with function_type "lambda".
                let keras2 = config
                    .and_then(|c| c.get("function_type"))
                    .and_then(Value::as_str)
                    == Some("lambda")
                    && function
                        .and_then(|f| f.get(0))
                        .is_some_and(Value::is_string);
                let code = keras2 || function.is_some_and(|f| f.to_string().contains("\"code\""));
                // The function itself is judged here, not again below.
                let mut rest = map.clone();
                if let Some(Value::Object(c)) = rest.get_mut("config") {
                    c.remove("function");
                }
                for (k, child) in &rest {
                    if k != "class_name" && k != "module" {
                        walk(child, k, out);
                    }
                }
                out.push(Finding {
                    severity: if code { Severity::Critical } else { Severity::High },
                    rule: Rule::DangerousGlobal,
                    message: format!(
                        "Lambda layer `{name}` carries a Python function{}: it runs when the model is loaded without safe mode, or called",
                        if code { " as marshalled bytecode" } else { "" }
                    ),
                    offset: 0,
                });
                return;
            }
            if let (Some(module), Some(class)) = (module, class) {
                match judge(module, class) {
                    Judgement::Dangerous(sev, why) | Judgement::Deserializer(sev, why) => out.push(Finding {
                        severity: sev,
                        rule: Rule::DangerousGlobal,
                        message: format!("`{name}` is built from `{module}.{class}`, which {why}"),
                        offset: 0,
                    }),
                    _ if !trusted(module) => out.push(Finding {
                        severity: Severity::Medium,
                        rule: Rule::UnknownGlobal,
                        message: format!(
                            "`{name}` is a custom object from `{module}.{class}`: loading imports that module; review it"
                        ),
                        offset: 0,
                    }),
                    _ => {}
                }
            }
            for (k, child) in map {
                walk(child, k, out);
            }
        }
        Value::Array(items) => {
            for child in items {
                walk(child, path, out);
            }
        }
        _ => {}
    }
}

/// Whether a `config.json` is a Keras model config (an object with `class_name`), as
/// opposed to, say, a transformers config.
pub(crate) fn looks_like_config(config: &[u8]) -> bool {
    parse(config).is_some_and(|v| v.get("class_name").is_some())
}

/// JSON as Python's `json` module reads it: `NaN`, `Infinity` and lone surrogate
/// escapes are accepted there, so a config using them is read too (they become `null`
/// and U+FFFD).
fn parse(config: &[u8]) -> Option<Value> {
    if let Ok(v) = serde_json::from_slice::<Value>(config) {
        return Some(v);
    }
    let text = String::from_utf8_lossy(config);
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            if c == '\\' {
                let next = chars.next();
                if next == Some('u') {
                    let hex: String = chars.clone().take(4).collect();
                    let surrogate =
                        u32::from_str_radix(&hex, 16).is_ok_and(|v| (0xd800..0xe000).contains(&v));
                    if surrogate {
                        for _ in 0..4 {
                            chars.next();
                        }
                        out.push_str("\\ufffd");
                        continue;
                    }
                }
                out.push(c);
                if let Some(n) = next {
                    out.push(n);
                }
                continue;
            }
            if c == '"' {
                in_string = false;
            }
            out.push(c);
            continue;
        }
        if c == '"' {
            in_string = true;
            out.push(c);
            continue;
        }
        let rest: String = std::iter::once(c).chain(chars.clone().take(8)).collect();
        let word = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|w| rest.starts_with(w));
        if let Some(w) = word {
            for _ in 1..w.len() {
                chars.next();
            }
            out.push_str("null");
            continue;
        }
        out.push(c);
    }
    serde_json::from_str(&out).ok()
}

/// Checks a Keras `config.json`.
pub(crate) fn check_config(config: &[u8]) -> Vec<Finding> {
    match parse(config)
        .ok_or(())
        .or_else(|()| serde_json::from_slice::<Value>(config))
    {
        Ok(v) => {
            let mut out = Vec::new();
            walk(&v, "model", &mut out);
            out
        }
        Err(e) => vec![Finding {
            severity: Severity::Medium,
            rule: Rule::MalformedHeader,
            message: format!(
                "the Keras config is not valid JSON ({e}): Keras will refuse the file"
            ),
            offset: 0,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_and_custom_objects() {
        let ok = br#"{"module":"keras","class_name":"Sequential","config":{"name":"s","layers":[{"module":"keras.layers","class_name":"Dense","config":{"name":"d"}}]}}"#;
        assert!(check_config(ok).is_empty());
        let lambda = br#"{"module":"keras","class_name":"Sequential","config":{"layers":[{"module":"keras.layers","class_name":"Lambda","config":{"name":"l","function":{"class_name":"__lambda__","config":{"code":"4wEAAAAA"}}}}]}}"#;
        let f = check_config(lambda);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Critical);
        let custom = br#"{"module":"my_pkg.layers","class_name":"Fancy","config":{"name":"f"}}"#;
        assert_eq!(check_config(custom)[0].rule, Rule::UnknownGlobal);
        let evil = br#"{"module":"os","class_name":"system","config":{"name":"x"}}"#;
        assert_eq!(check_config(evil)[0].severity, Severity::Critical);
    }
}

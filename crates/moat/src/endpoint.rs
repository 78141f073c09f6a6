//! The network side of `moat attack` and `moat probe`: an HTTP prediction endpoint as a
//! classifier, and an OpenAI-compatible chat endpoint, over one blocking HTTP client
//! (ureq) with keep-alive connections and TCP_NODELAY (with Nagle's algorithm on, every
//! small request would wait for the peer's delayed ACK, ~40 ms), a limit on requests in
//! flight, retries with backoff on connection errors and 5xx, and `429` answered by
//! waiting for `Retry-After`.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use moat_attack::probes::{Chat, Message};
use moat_attack::{Classifier, Error, Output};
use serde::Deserialize;

/// Mapping of a prediction endpoint (`--endpoint-config FILE`, flags override).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct EndpointConfig {
    /// Request field carrying the rows.
    pub input: String,
    /// Response field, or a JSON pointer (`/outputs/0`), with one prediction per row.
    pub output: String,
    pub batch_size: usize,
    pub concurrency: usize,
    pub timeout_s: u64,
    pub retries: u32,
    /// Environment variable with a bearer key.
    pub key_env: Option<String>,
    /// Extra request headers (not secrets: use `key_env`).
    pub headers: std::collections::BTreeMap<String, String>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            input: "instances".into(),
            output: "predictions".into(),
            batch_size: 64,
            concurrency: 8,
            timeout_s: 30,
            retries: 3,
            key_env: None,
            headers: Default::default(),
        }
    }
}

/// A counting semaphore for requests in flight.
struct Slots {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Slots {
    fn new(n: usize) -> Self {
        Slots {
            free: Mutex::new(n.max(1)),
            cv: Condvar::new(),
        }
    }

    fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            while *free == 0 {
                free = self.cv.wait(free).unwrap_or_else(|e| e.into_inner());
            }
            *free -= 1;
        }
        let out = f();
        *self.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.cv.notify_one();
        out
    }
}

/// The HTTP client both endpoints use.
pub(crate) struct Http {
    agent: ureq::Agent,
    slots: Slots,
    retries: u32,
    bearer: Option<String>,
    headers: Vec<(String, String)>,
}

impl Http {
    pub(crate) fn new(
        timeout: Duration,
        concurrency: usize,
        retries: u32,
        bearer: Option<String>,
        headers: Vec<(String, String)>,
    ) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .no_delay(true)
            .max_idle_connections_per_host(concurrency.max(1) * 2)
            .user_agent(concat!("moat/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Http {
            agent,
            slots: Slots::new(concurrency),
            retries,
            bearer,
            headers,
        }
    }

    /// POSTs JSON; retries connection errors, 5xx and 429 (after `Retry-After`).
    pub(crate) fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let body = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let mut attempt = 0u32;
        loop {
            let result = self.slots.run(|| {
                let mut req = self
                    .agent
                    .post(url)
                    .header("content-type", "application/json");
                if let Some(k) = &self.bearer {
                    req = req.header("authorization", &format!("Bearer {k}"));
                }
                for (k, v) in &self.headers {
                    req = req.header(k, v);
                }
                req.send(&body[..])
            });
            let retry_after = match result {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    if (200..300).contains(&status) {
                        return resp
                            .body_mut()
                            .with_config()
                            .limit(256 << 20)
                            .read_json::<serde_json::Value>()
                            .map_err(|e| format!("the answer is not JSON: {e}"));
                    }
                    let wait = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .map(|s| Duration::from_secs_f64(s.clamp(0.0, 60.0)));
                    let text = resp
                        .body_mut()
                        .with_config()
                        .limit(4096)
                        .read_to_string()
                        .unwrap_or_default();
                    let retryable = status == 429 || status >= 500;
                    if !retryable || attempt >= self.retries {
                        let text: String = text.chars().take(300).collect();
                        return Err(format!("the endpoint answered HTTP {status}: {text}"));
                    }
                    wait
                }
                Err(e) => {
                    if attempt >= self.retries {
                        return Err(format!("cannot reach the endpoint: {e}"));
                    }
                    None
                }
            };
            let backoff = Duration::from_millis(100u64 << attempt.min(6));
            std::thread::sleep(retry_after.unwrap_or(backoff));
            attempt += 1;
        }
    }
}

/// An HTTP prediction endpoint as a classifier.
pub(crate) struct HttpClassifier {
    http: Http,
    url: String,
    cfg: EndpointConfig,
    shape: Vec<usize>,
    scores: bool,
}

impl HttpClassifier {
    /// Connects and asks for one row to learn whether the endpoint gives scores.
    pub(crate) fn connect(
        url: &str,
        cfg: EndpointConfig,
        shape: Vec<usize>,
        first_row: &[f32],
    ) -> anyhow::Result<Self> {
        let bearer = match &cfg.key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                anyhow::anyhow!(
                    "the environment variable `{var}` holding the endpoint key is not set"
                )
            })?),
            None => None,
        };
        let headers = cfg
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let http = Http::new(
            Duration::from_secs(cfg.timeout_s.max(1)),
            cfg.concurrency,
            cfg.retries,
            bearer,
            headers,
        );
        let mut me = HttpClassifier {
            http,
            url: url.to_owned(),
            cfg,
            shape,
            scores: true,
        };
        let out = me.call(first_row).map_err(|e| anyhow::anyhow!("{e}"))?;
        me.scores = matches!(out, Output::Probabilities { .. });
        Ok(me)
    }

    fn call(&self, rows: &[f32]) -> Result<Output, Error> {
        let len = self.row_len().max(1);
        let n = rows.len() / len;
        let instances: Vec<serde_json::Value> =
            rows.chunks(len).map(|r| nest(r, &self.shape)).collect();
        let mut body = serde_json::Map::new();
        body.insert(self.cfg.input.clone(), serde_json::Value::Array(instances));
        let answer = self
            .http
            .post_json(&self.url, &serde_json::Value::Object(body))
            .map_err(Error::Endpoint)?;
        let field = if self.cfg.output.starts_with('/') {
            answer.pointer(&self.cfg.output)
        } else {
            answer.get(&self.cfg.output)
        };
        let items = field.and_then(|v| v.as_array()).ok_or_else(|| {
            Error::Endpoint(format!(
                "the answer has no array at `{}`: set --endpoint-output",
                self.cfg.output
            ))
        })?;
        if items.len() != n {
            return Err(Error::Endpoint(format!(
                "{} predictions for {n} rows",
                items.len()
            )));
        }
        parse_predictions(items)
    }
}

/// Rows of a flat slice nested to the row shape (`[c, h, w]` becomes nested lists).
fn nest(row: &[f32], shape: &[usize]) -> serde_json::Value {
    match shape {
        [] | [_] => serde_json::Value::Array(row.iter().map(|&v| serde_json::json!(v)).collect()),
        [_, rest @ ..] => {
            let step: usize = rest.iter().product::<usize>().max(1);
            serde_json::Value::Array(row.chunks(step).map(|c| nest(c, rest)).collect())
        }
    }
}

/// Predictions: all arrays of scores, or all class indices.
pub(crate) fn parse_predictions(items: &[serde_json::Value]) -> Result<Output, Error> {
    let bad = |m: String| Error::Endpoint(m);
    if items.first().is_some_and(serde_json::Value::is_array) {
        let classes = items[0].as_array().map_or(0, Vec::len);
        let mut values = Vec::with_capacity(items.len() * classes);
        for (i, it) in items.iter().enumerate() {
            let a = it
                .as_array()
                .filter(|a| a.len() == classes)
                .ok_or_else(|| bad(format!("prediction {i} is not a list of {classes} scores")))?;
            for v in a {
                values.push(
                    v.as_f64()
                        .ok_or_else(|| bad(format!("prediction {i} holds a non-number")))?
                        as f32,
                );
            }
        }
        if classes == 0 {
            return Err(bad("the predictions are empty lists".into()));
        }
        return Ok(Output::Probabilities { classes, values });
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_u64()
                .or_else(|| {
                    v.as_f64()
                        .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                        .map(|f| f as u64)
                })
                .map(|l| l as usize)
                .ok_or_else(|| {
                    bad(format!(
                        "prediction {i} is `{v}`, neither a class index nor a list of scores"
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Output::Labels)
}

impl Classifier for HttpClassifier {
    fn input_shape(&self) -> &[usize] {
        &self.shape
    }

    fn predict(&self, rows: &[f32]) -> Result<Output, Error> {
        self.call(rows)
    }

    fn gives_scores(&self) -> bool {
        self.scores
    }

    fn max_batch(&self) -> usize {
        self.cfg.batch_size.max(1)
    }
}

/// An OpenAI-compatible chat completions endpoint.
pub(crate) struct OpenAiChat {
    pub http: Http,
    pub url: String,
    pub model: String,
    pub max_tokens: u32,
}

impl OpenAiChat {
    pub(crate) fn url(base: &str) -> String {
        let b = base.trim_end_matches('/');
        if b.ends_with("/chat/completions") {
            b.to_owned()
        } else {
            format!("{b}/chat/completions")
        }
    }
}

impl Chat for OpenAiChat {
    fn complete(&self, messages: &[Message]) -> Result<String, Error> {
        let body = serde_json::json!({
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": self.max_tokens,
        });
        let answer = self
            .http
            .post_json(&self.url, &body)
            .map_err(Error::Endpoint)?;
        let msg = answer
            .pointer("/choices/0/message")
            .ok_or_else(|| Error::Endpoint("the answer has no choices[0].message".into()))?;
        Ok(msg
            .get("content")
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictions_of_both_kinds() {
        let p = parse_predictions(&[serde_json::json!([0.2, 0.8]), serde_json::json!([0.9, 0.1])])
            .expect("scores");
        assert_eq!(p.decisions(), vec![1, 0]);
        let l = parse_predictions(&[serde_json::json!(2), serde_json::json!(0.0)]).expect("labels");
        assert_eq!(l.decisions(), vec![2, 0]);
        assert!(parse_predictions(&[serde_json::json!("cat")]).is_err());
        assert!(
            parse_predictions(&[serde_json::json!([0.1]), serde_json::json!([0.1, 0.2])]).is_err()
        );
    }

    #[test]
    fn nests_images() {
        let v = nest(&[1.0, 2.0, 3.0, 4.0], &[1, 2, 2]);
        assert_eq!(v, serde_json::json!([[[1.0, 2.0], [3.0, 4.0]]]));
        assert_eq!(
            OpenAiChat::url("http://h/v1/"),
            "http://h/v1/chat/completions"
        );
    }
}
